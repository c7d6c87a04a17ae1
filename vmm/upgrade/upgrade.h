/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the live upgrade (Documentation/upgrade.rst).
 *
 *   upgrade.c         the old image: the control command, pause, save, exec,
 *                     and undoing it all when exec fails
 *   preflight.c       NEW --upgrade-preflight, before anything is paused
 *   stash.c           transport of the adopt and rebuild modes: /dev/cprstash
 *   cloexec.c         transport of the cloexec mode: inherited fds + memfd
 *   keeper.c          the mm keeper: the old address space outlives exec
 *   watch.c           the loss watch: says so if the guest is lost
 *   fault.c           test hook: a fault at a named point of the upgrade
 *   records_uring.c   the new image reads every record in one submission
 *   incoming.c        the new image: read, recover, resume, reply
 *   recover.c         the VM from records and kept files (adopt or rebuild)
 *   rollback.c        a new image that fails re-execs the old binary
 *   report.c          the JSON report and the guest-visible gap
 *   client.c          vmm --live-upgrade
 *
 * Both transports carry the same thing: one state stream (state.h) and a
 * table of files by role.  Adopt and rebuild share the stash transport and
 * differ only in recover.c.
 */
#ifndef VMM_UPGRADE_PRIV_H
#define VMM_UPGRADE_PRIV_H

#include <limits.h>
#include <sys/types.h>

#include "vmm/control.h"
#include "vmm/mm_keeper.h"
#include "vmm/run.h"
#include "vmm/state.h"
#include "vmm/upgrade.h"

/* What the old image passes in the new image's environment. */
#define UPGRADE_ENV_MODE	"VMM_UPGRADE_MODE"	/* adopt, rebuild, cloexec */
#define UPGRADE_ENV_T_EXEC	"VMM_UPGRADE_T_EXEC"	/* CLOCK_MONOTONIC ns */
#define UPGRADE_ENV_STATE_FD	"VMM_UPGRADE_STATE_FD"	/* cloexec: the records */
#define UPGRADE_ENV_EXE_FD	"VMM_UPGRADE_EXE_FD"	/* cloexec: old binary */
/* The old image's version (vmm --version), for the report. */
#define UPGRADE_ENV_OLD_VERSION	"VMM_UPGRADE_OLD_VERSION"
/* Set by a failed new image when it re-execs the old binary: why. */
#define UPGRADE_ENV_ROLLBACK	"VMM_UPGRADE_ROLLBACK"

/* The VMM's own, the vCPUs', the clients' and the devices' (device.h). */
#define UPGRADE_MAX_FDS		(8 + VM_MAX_VCPUS + CONTROL_MAX_CLIENTS + 128)
#define UPGRADE_MAX_PARTS	(3 + VM_MAX_VCPUS)
/* A sealed stash nobody claims is reclaimed after this. */
#define UPGRADE_SEAL_DEADLINE_MS 60000
/*
 * The preflight child must answer within this.  The guest runs meanwhile:
 * generous, as a host with more busy vCPU threads than CPUs starves the
 * child (10 s was too short for 64 vCPUs on 2 CPUs).
 */
#define UPGRADE_PREFLIGHT_MS	30000

/* One kept file: what it is, and (cloexec) the fd number it keeps. */
struct upgrade_fd {
	u32 role;		/* enum state_fd_role */
	u32 index;
	int fd;
};

/* The old image's side of one upgrade. */
struct upgrade_out {
	struct vmm_run *run;
	const struct upgrade_transport *tr;
	enum upgrade_mode mode;
	enum upgrade_mode requested;
	bool adopt_zap;			/* request: "adopt_zap": true */
	char binary[PATH_MAX];
	int exe_fd;			/* this binary, for a rollback */
	struct state_upgrade_info info;
	struct state_buf state;
	/* The stream in parts (stash: one record each): name, start. */
	unsigned int nr_parts;
	struct {
		char name[32];
		size_t off;
	} parts[UPGRADE_MAX_PARTS];
	struct upgrade_fd fds[UPGRADE_MAX_FDS];
	unsigned int nr_fds;
	u64 t_exec;
	/* Transport state. */
	int stash;			/* stash: /dev/cprstash */
	int state_fd;			/* cloexec: the records memfd */
	struct mm_keeper keeper;	/* keeper.c; keeper.fd kept across exec */
	int watch_fd;			/* write end of the loss watch's pipe */
	int fd_flags[UPGRADE_MAX_FDS];	/* cloexec: FD_CLOEXEC before */
	/* Environment lines the transport adds for the new image. */
	char env[4][64];
	unsigned int nr_env;
};

/* The new image's side. */
struct upgrade_in {
	const struct upgrade_transport *tr;
	enum upgrade_mode mode;		/* what the old image chose */
	enum upgrade_mode done;		/* what recovery did (adopt may fall back) */
	char fallback[200];		/* why adopt fell back to rebuild */
	const char *rollback;		/* a rolled-back image: why (else NULL) */
	char old_version[64];		/* the old image's, "" if it did not say */
	const char *argv0;
	u64 t_main, t_exec, t_read, t_recovered, t_resumed, t_gap, t_finished;
	/* adopt kept the guest's mappings: SETTLE_KVM after the resume. */
	bool kept_mappings;
	u64 t_settle, t_settled;
	/* The state stream and what was decoded from it. */
	u8 *data;
	size_t len;
	unsigned int nr_records;
	bool used_uring;
	struct state_upgrade_info info;
	int argc;
	char **argv;
	const char *request;		/* the request line (not terminated) */
	u32 request_len;
	struct upgrade_fd fds[UPGRADE_MAX_FDS];
	unsigned int nr_fds;
	const void *client_buf[CONTROL_MAX_CLIENTS];
	u32 client_len[CONTROL_MAX_CLIENTS];
	struct vmm_config cfg;
	struct vmm_run *run;
	/* Transport state. */
	int stash;
	int state_fd;
	int exe_fd;			/* the old binary (rollback) */
	/* The parked span and the guest's own view of it (report.c). */
	u64 resume_tsc;			/* vCPU 0's guest TSC just before the start */
	u64 resume_mark;		/* built-in guest: the mark set for it */
	u64 guest_gap_ticks[VM_MAX_VCPUS];
	bool guest_gap_known;
	char guest_gap_error[160];	/* why guest_gap_ticks is unknown */
	struct bg_speed speed;		/* built-in guest: time to full speed */
	const char *speed_error;	/* why it is unknown, NULL if known */
};

/* How files and records cross exec: stash.c or cloexec.c. */
struct upgrade_transport {
	const char *name;
	/* Old image, before the pause: anything that may fail harmlessly. */
	int (*prepare)(struct upgrade_out *up);
	/* VM paused, up->state complete: make it all survive exec. */
	int (*preserve)(struct upgrade_out *up);
	/* exec failed (or preserve did): undo, the old image runs on. */
	void (*unpreserve)(struct upgrade_out *up);
	/* New image: find the state and the old binary (in->exe_fd). */
	int (*open)(struct upgrade_in *in);
	/* The records into in->data, one io_uring submission. */
	int (*read)(struct upgrade_in *in);
	/* A new O_CLOEXEC fd on a kept file, or -errno. */
	int (*get_fd)(struct upgrade_in *in, u32 role, u32 index);
	/* Adopt the kept KVM VM (stash only; NULL: cannot). */
	int (*adopt_vm)(struct upgrade_in *in);
	/*
	 * Right after the resume (NULL: nothing to do): end what must end
	 * within a bound the kernel sets, before anything that may wait long.
	 */
	void (*settle)(struct upgrade_in *in);
	/* After the guest resumed: release what is left of the old image. */
	void (*finish)(struct upgrade_in *in);
};

extern const struct upgrade_transport upgrade_stash_transport;
extern const struct upgrade_transport upgrade_cloexec_transport;

/* A kept file's name in the stash ("kvm-vcpu.3"). */
void upgrade__fd_name(u32 role, u32 index, char *buf, size_t len);

/* records_uring.c */
struct record_read {
	int fd;
	u64 offset;
	u32 len;
	void *dst;
};
int records__read(const struct record_read *reads, unsigned int nr, bool *used_uring);

/* preflight.c: run "@binary --upgrade-preflight"; 0 or -errno + @err. */
int preflight__run(const char *binary, char *err, size_t errlen);

/* recover.c: the VM of @in->run from records and kept files. */
int recover__vm(struct upgrade_in *in);

/* rollback.c */
void rollback__arm(int exe_fd, const char *argv0);
void rollback__disarm(void);
void rollback__now(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));

/* report.c */
struct json_object *report__incoming(struct upgrade_in *in);
struct json_object *report__failed(struct upgrade_out *up, const struct control_request *req,
				   const char *stage, const char *fmt, ...) __printf(4, 5);
/* Every vCPU parked, just before they run again: where the span ends. */
void report__mark_resume(struct upgrade_in *in);
void report__wait_guest_gap(struct upgrade_in *in);
void report__wait_full_speed(struct upgrade_in *in);

/*
 * watch.c: before the pause, a process that reports the guest lost if
 * the VMM process ends before an image resumed it (-errno: no watch).
 */
int watch__start(struct upgrade_out *up, const struct control_request *req, unsigned int slot);
/* The guest runs again: end the watch through its pipe's write end @fd. */
void watch__resumed(int fd);

/* keeper.c: the process that keeps the old address space across exec. */
void keeper__start(struct upgrade_out *up);
/* Old image, exec failed: end it (nothing is torn down). */
void keeper__stop(struct upgrade_out *up);
/* New image, after the old VM is gone: mm_keeper__release(); the old mm goes. */

#endif
