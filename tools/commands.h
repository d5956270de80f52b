/* SPDX-License-Identifier: GPL-2.0-only */
/* The commands; each parses its own options (argv[0] is the command name). */
#ifndef MIGSCOPE_COMMANDS_H
#define MIGSCOPE_COMMANDS_H

int do_bitmap(int argc, char **argv);
int do_features(int argc, char **argv);
int do_import(int argc, char **argv);
int do_profile(int argc, char **argv);
int do_replay(int argc, char **argv);
int do_synth(int argc, char **argv);
int do_watch(int argc, char **argv);

#endif
