// SPDX-License-Identifier: GPL-2.0-only
/*
 * .note.stapsdt: the probe sites of an ELF file (see stapsdt.h).  Each note
 * is the ELF note header, the owner "stapsdt", type 3, and a descriptor of
 * three addresses (probe pc, .stapsdt.base, semaphore) followed by three
 * NUL-terminated strings: provider, name, argument description.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <migscope/stapsdt.h>

#define NT_STAPSDT 3

static uint64_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get_addr(const unsigned char *p, int elf64)
{
	uint64_t v;

	if (!elf64)
		return get_u32(p);
	memcpy(&v, p, sizeof(v));
	return v;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The next NUL-terminated string in [*p, end), or NULL. */
static const char *next_str(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p, *nul = memchr(s, 0, (size_t)(end - s));

	if (!nul)
		return NULL;
	*p = nul + 1;
	return (const char *)s;
}

int ms_stapsdt__parse(const void *data, size_t len, int elf64, ms_stapsdt_fn fn, void *ctx)
{
	const unsigned char *p = data, *end = p + len;
	size_t addr = elf64 ? 8 : 4;

	while ((size_t)(end - p) >= 12) {
		uint64_t namesz = get_u32(p), descsz = get_u32(p + 4), type = get_u32(p + 8);
		const unsigned char *name = p + 12, *desc, *d, *dend;
		struct ms_stapsdt_probe pr;
		int ret;

		if (align4(namesz) > (size_t)(end - name))
			return -EINVAL;
		desc = name + align4(namesz);
		if (descsz > (size_t)(end - desc))
			return -EINVAL;
		/* the last note's padding may be missing */
		p = align4(descsz) <= (size_t)(end - desc) ? desc + align4(descsz) : end;
		if (type != NT_STAPSDT || namesz != 8 || memcmp(name, "stapsdt", 8))
			continue;
		if (descsz < 3 * addr)
			return -EINVAL;
		pr.pc = get_addr(desc, elf64);
		pr.base = get_addr(desc + addr, elf64);
		pr.semaphore = get_addr(desc + 2 * addr, elf64);
		d = desc + 3 * addr;
		dend = desc + descsz;
		pr.provider = next_str(&d, dend);
		pr.name = pr.provider ? next_str(&d, dend) : NULL;
		pr.args = pr.name ? next_str(&d, dend) : NULL;
		if (!pr.args)
			return -EINVAL;
		ret = fn(ctx, &pr);
		if (ret)
			return ret;
	}
	return p == end ? 0 : -EINVAL;
}

int ms_stapsdt__read_file(const char *path, ms_stapsdt_fn fn, void *ctx, char *err, size_t errlen)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int fd, ret = 0, elf64;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "failed to initialise libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "failed to open %s: %s", path, strerror(errno));
		return ret;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		ret = -ENOEXEC;
		goto out;
	}
	elf64 = gelf_getclass(elf) == ELFCLASS64;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		ret = ms_stapsdt__parse(data->d_buf, data->d_size, elf64, fn, ctx);
		if (ret == -EINVAL)
			snprintf(err, errlen, "%s: malformed .note.stapsdt section", path);
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret;
}
