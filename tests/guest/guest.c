// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tiny multiboot guest for the end-to-end migration test: it writes one
 * word per page over a working set, round and round, at a given rate, so a
 * migrating QEMU has dirty pages whose rate the test chooses.
 *
 *   qemu-system-x86_64 -kernel guest.elf -append "ws=8M rate=2000" -serial file:S
 *
 * ws: working set (K/M suffix), written once in full at start, then round
 * and round at rate page writes per second (0: as fast as it can).  It prints "migscope-guest: ready ws=... rate=..." on COM1 once it
 * runs.  Time comes from the PIT (1193182 Hz), polled, so the guest needs no
 * interrupts.  Built with the host compiler: 32-bit, freestanding.
 */
#include <stdint.h>

#define MB_MAGIC	0x1BADB002u
#define MB_FLAGS	0x3u /* page-align modules, give memory info */
#define MB_INFO_CMDLINE (1u << 2)
#define PIT_HZ		1193182ull
#define WS_BASE		(4u << 20)
#define PAGE		4096u

__attribute__((section(".multiboot"), aligned(4), used)) static const uint32_t mb_header[3] = {
	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
};

uint8_t stack[16384] __attribute__((aligned(16), used));

void guest_main(uint32_t magic, const uint32_t *mbi);

__asm__(".globl _start\n"
	"_start:\n"
	"	mov $stack + 16384, %esp\n"
	"	push %ebx\n"
	"	push %eax\n"
	"	call guest_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_serial(char c)
{
	while (!(inb(0x3f8 + 5) & 0x20))
		;
	outb(0x3f8, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static void putu_serial(uint32_t v)
{
	char buf[12];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_serial(buf[--i]);
}

/* "key=123K" in the command line; def when absent. */
static uint32_t arg(const char *cmdline, const char *key, uint32_t def)
{
	for (const char *p = cmdline; p && *p; p++) {
		const char *k = key, *q = p;
		uint32_t v = 0;

		if (p != cmdline && p[-1] != ' ')
			continue;
		while (*k && *q == *k)
			k++, q++;
		if (*k || *q != '=')
			continue;
		for (q++; *q >= '0' && *q <= '9'; q++)
			v = v * 10 + (uint32_t)(*q - '0');
		if (*q == 'K' || *q == 'k')
			v <<= 10;
		else if (*q == 'M' || *q == 'm')
			v <<= 20;
		return v;
	}
	return def;
}

static uint16_t pit_read(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00); /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(lo | hi << 8);
}

void guest_main(uint32_t magic, const uint32_t *mbi)
{
	const char *cmdline = "";
	uint32_t ws, rate, pages;
	uint64_t ticks = 0, written = 0;
	uint16_t last;

	if (magic == 0x2BADB002u && (mbi[0] & MB_INFO_CMDLINE))
		cmdline = (const char *)(uintptr_t)mbi[4];
	ws = arg(cmdline, "ws", 8u << 20);
	rate = arg(cmdline, "rate", 0);
	pages = ws / PAGE ? ws / PAGE : 1;

	outb(0x3f8 + 1, 0x00); /* COM1: no interrupts, 115200 8N1 */
	outb(0x3f8 + 3, 0x80);
	outb(0x3f8 + 0, 0x01);
	outb(0x3f8 + 1, 0x00);
	outb(0x3f8 + 3, 0x03);
	outb(0x43, 0x34); /* PIT channel 0, mode 2, full 16-bit count */
	outb(0x40, 0);
	outb(0x40, 0);
	last = pit_read();

	/* the whole working set holds data before the rate applies: no zero pages in it */
	for (uint32_t i = 0; i < pages; i++)
		*(volatile uint32_t *)(uintptr_t)(WS_BASE + i * PAGE) = 0x6d696773u;

	puts_serial("migscope-guest: ready ws=");
	putu_serial(ws);
	puts_serial(" rate=");
	putu_serial(rate);
	puts_serial("\n");

	for (uint32_t round = 1;; round++) {
		for (uint32_t i = 0; i < pages; i++) {
			volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)(WS_BASE + i * PAGE);

			/*
			 * TCG marks a page dirty only on a write through a TLB entry
			 * filled while the page was clean; a working set that fits in
			 * the TLB would stay "clean" after the first sync.  invlpg
			 * drops the entry, so every write is seen, as on real hardware.
			 */
			__asm__ volatile("invlpg (%0)" : : "r"(w) : "memory");
			*w = round;
			written++;
			/* the PIT counts down and wraps every 55 ms: poll it often */
			while (rate) {
				uint16_t now = pit_read();

				ticks += (uint16_t)(last - now);
				last = now;
				if (written * PIT_HZ <= ticks * rate)
					break;
			}
		}
	}
}
