/*
 * commands.h - the entry points of the commands of the ajio tool, one cmd_*.c file each. Only
 * main.c calls them, from its command table; a command calls no other command.
 *
 * Each run function takes the command's own argv (argv[0] is the command name; getopt_long()
 * was reset to start from argv[1]) and returns the exit status. Each usage text starts with the
 * synopsis line "Usage: ajio NAME ...", which usage errors repeat.
 */
#ifndef AJIO_CLI_COMMANDS_H
#define AJIO_CLI_COMMANDS_H

/* cmd_write.c: atomically replace FILE with standard input. */
int cmd_write(int argc, char **argv);
extern const char cmd_write_usage[];

/* cmd_update.c: a locked read-modify-write of FILE by a command. */
int cmd_update(int argc, char **argv);
extern const char cmd_update_usage[];

/* cmd_append.c: append standard input to FILE as whole records, under FILE's lock. */
int cmd_append(int argc, char **argv);
extern const char cmd_append_usage[];

/* cmd_repair.c: repair a torn last line of FILE. */
int cmd_repair(int argc, char **argv);
extern const char cmd_repair_usage[];

/* cmd_cat.c: print the complete records of FILE, without a torn tail. */
int cmd_cat(int argc, char **argv);
extern const char cmd_cat_usage[];

/* cmd_check.c: validate JSON or JSONL files. */
int cmd_check(int argc, char **argv);
extern const char cmd_check_usage[];

/* cmd_sweep.c: remove temp files left behind by killed writers. */
int cmd_sweep(int argc, char **argv);
extern const char cmd_sweep_usage[];

/* cmd_batch.c: replace the files of a manifest, each atomically or all or nothing. */
int cmd_batch(int argc, char **argv);
extern const char cmd_batch_usage[];

/* cmd_recover.c: complete or undo a transaction that died. */
int cmd_recover(int argc, char **argv);
extern const char cmd_recover_usage[];

/* cmd_publish.c: publish a directory snapshot; remove the old generations of one. */
int cmd_publish(int argc, char **argv);
extern const char cmd_publish_usage[];
int cmd_snapshot(int argc, char **argv);
extern const char cmd_snapshot_usage[];

/* cmd_demo.c: the example files and the torn-read showdown. */
int cmd_demo(int argc, char **argv);
extern const char cmd_demo_usage[];

#endif /* AJIO_CLI_COMMANDS_H */
