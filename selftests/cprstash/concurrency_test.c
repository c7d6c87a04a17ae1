// SPDX-License-Identifier: GPL-2.0
/*
 * concurrency_test: the threads of one process share its stash.  Eight
 * threads fill it at once - each preserving files, putting records, listing
 * and retrieving - and nothing fails, nothing is lost or doubled, and no fd
 * leaks.  Then many threads read one sealed stash at once, and FINISH races
 * with retrievals.
 *
 * Workers use the aborting helpers: any error kills the test with the name
 * of the ioctl and its errno.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define NR_THREADS	8
/* 8 threads x 48 x (file + record) = 768 entries, below max_entries. */
#define NR_ITERS	48
#define MAX_REC		300
#define DEADLINE_MS	120000

struct worker {
	pthread_t thread;
	int id;
	int stash;
	pthread_barrier_t *start;
};

static void entry_names(int id, int i, char file[CPRSTASH_NAME_MAX],
			char rec[CPRSTASH_NAME_MAX])
{
	snprintf(file, CPRSTASH_NAME_MAX, "t%d-file-%d", id, i);
	snprintf(rec, CPRSTASH_NAME_MAX, "t%d-rec-%d", id, i);
}

static __u32 rec_len(int id, int i)
{
	return (id * 37 + i * 11) % MAX_REC;
}

static uint32_t rec_seed(int id, int i)
{
	return id << 16 | i;
}

/* The eventfd's counter tells which thread and iteration it came from. */
static __u64 efd_count(int id, int i)
{
	return id * 1000 + i + 1;
}

static void check_record(int stash, const struct cprstash_entry *e, int id,
			 int i)
{
	char buf[MAX_REC];

	TEST_ASSERT(e && e->type == CPRSTASH_ENTRY_RECORD &&
		    e->len == rec_len(id, i),
		    "record t%d-rec-%d in LIST", id, i);
	stash_read_exact(stash, buf, e->len, e->offset);
	TEST_ASSERT(pattern_mismatch(buf, e->len, rec_seed(id, i)) < 0,
		    "record t%d-rec-%d content", id, i);
}

static void check_file(int stash, const char *name, __u64 count)
{
	__u64 seen = 0;
	__u32 kind;
	int fd = stash_retrieve(stash, name, 0, &kind);

	TEST_ASSERT(kind == CPRSTASH_KIND_EVENTFD, "%s: kind %u", name, kind);
	TEST_ASSERT(read(fd, &seen, sizeof(seen)) == sizeof(seen) &&
		    seen == count, "%s: counter %llu, expected %llu", name,
		    (unsigned long long)seen, (unsigned long long)count);
	close(fd);
}

/* One iteration: add a file and a record, then find both through LIST. */
static void fill_one(int stash, int id, int i)
{
	char file[CPRSTASH_NAME_MAX], rec[CPRSTASH_NAME_MAX], data[MAX_REC];
	struct cprstash_list info;
	struct cprstash_entry *e;
	int efd = eventfd(efd_count(id, i), EFD_CLOEXEC);

	entry_names(id, i, file, rec);
	TEST_ASSERT(efd >= 0, "eventfd");
	stash_preserve(stash, efd, file);
	close(efd);
	pattern_fill(data, rec_len(id, i), rec_seed(id, i));
	stash_put(stash, rec, data, rec_len(id, i));

	e = stash_entries(stash, &info);
	check_record(stash, stash_find(e, info.nr_entries, rec), id, i);
	free(e);
	check_file(stash, file, efd_count(id, i));
}

static void *filler(void *arg)
{
	struct worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < NR_ITERS; i++)
		fill_one(w->stash, w->id, i);
	return NULL;
}

/* Start @fn on NR_THREADS workers at once, and wait for all of them. */
static void run_workers(int stash, void *(*fn)(void *))
{
	struct worker workers[NR_THREADS];
	pthread_barrier_t start;
	int i;

	TEST_ASSERT(!pthread_barrier_init(&start, NULL, NR_THREADS), "barrier");
	for (i = 0; i < NR_THREADS; i++) {
		workers[i] = (struct worker){
			.id = i, .stash = stash, .start = &start,
		};
		TEST_ASSERT(!pthread_create(&workers[i].thread, NULL, fn,
					    &workers[i]), "pthread_create");
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_barrier_destroy(&start);
}

/* Each name exactly once, every file retrieved, every record intact. */
static void check_all_entries(int stash)
{
	char file[CPRSTASH_NAME_MAX], rec[CPRSTASH_NAME_MAX];
	struct cprstash_list info;
	struct cprstash_entry *e = stash_entries(stash, &info);
	const struct cprstash_entry *f, *r;
	int id, i;

	TEST_ASSERT(info.nr_entries == NR_THREADS * NR_ITERS * 2,
		    "LIST has %u entries, expected %d", info.nr_entries,
		    NR_THREADS * NR_ITERS * 2);
	for (id = 0; id < NR_THREADS; id++) {
		for (i = 0; i < NR_ITERS; i++) {
			entry_names(id, i, file, rec);
			f = stash_find(e, info.nr_entries, file);
			r = stash_find(e, info.nr_entries, rec);
			TEST_ASSERT(f && f->flags == CPRSTASH_ENTRY_RETRIEVED,
				    "%s missing or not marked retrieved", file);
			/* Names are unique, so each found one is the only. */
			TEST_ASSERT(!stash_find(f + 1, e + info.nr_entries -
						f - 1, file) &&
				    !stash_find(r + 1, e + info.nr_entries -
						r - 1, rec),
				    "%s or %s listed twice", file, rec);
			check_record(stash, r, id, i);
		}
	}
	free(e);
}

FIXTURE(concurrency) {
	int fds_at_start;
	int stash;
};

FIXTURE_SETUP(concurrency)
{
	REQUIRE_STASH();
	self->fds_at_start = fd_count();
	self->stash = stash_open();
}

FIXTURE_TEARDOWN(concurrency)
{
}

TEST_F(concurrency, threads_fill_one_stash)
{
	run_workers(self->stash, filler);
	check_all_entries(self->stash);

	stash_finish(self->stash);
	close(self->stash);
	EXPECT_EQ(self->fds_at_start, fd_count());
}

/* Many threads reading one sealed stash: LIST, RETRIEVE and pread. */
static void *reader(void *arg)
{
	char file[CPRSTASH_NAME_MAX], rec[CPRSTASH_NAME_MAX];
	struct worker *w = arg;
	struct cprstash_list info;
	struct cprstash_entry *e;
	__u32 kind;
	int i, j;

	pthread_barrier_wait(w->start);
	for (i = 0; i < NR_ITERS; i++) {
		e = stash_entries(w->stash, &info);
		TEST_ASSERT(info.state == CPRSTASH_STATE_SEALED &&
			    info.nr_entries == NR_THREADS * NR_ITERS * 2 + 1,
			    "state %u, %u entries", info.state,
			    info.nr_entries);
		for (j = 0; j < NR_ITERS; j++) {
			entry_names(w->id, j, file, rec);
			check_record(w->stash,
				     stash_find(e, info.nr_entries, rec),
				     w->id, j);
		}
		free(e);
		close(stash_retrieve(w->stash, "shared", 0, &kind));
		TEST_ASSERT(kind == CPRSTASH_KIND_EVENTFD, "kind %u", kind);
	}
	return NULL;
}

TEST_F(concurrency, threads_read_one_sealed_stash)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_GE(efd, 0);
	run_workers(self->stash, filler);
	stash_preserve(self->stash, efd, "shared");
	close(efd);
	stash_seal(self->stash, DEADLINE_MS);
	run_workers(self->stash, reader);

	stash_finish(self->stash);
	close(self->stash);
	EXPECT_EQ(self->fds_at_start, fd_count());
}

/*
 * Thread 0 calls FINISH while the others retrieve the same file in a loop:
 * each retrieval either gets the file or, once FINISH is through, ENOENT.
 */
static void *retrieve_until_finished(void *arg)
{
	struct worker *w = arg;
	int i, fd, err;

	pthread_barrier_wait(w->start);
	for (i = 0; ; i++) {
		if (w->id == 0 && i == NR_ITERS) {
			stash_finish(w->stash);
			return NULL;
		}
		err = __stash_retrieve(w->stash, "shared", 0, &fd, NULL);
		if (err == ENOENT && w->id)
			return NULL;
		TEST_ASSERT(!err, "RETRIEVE_FD racing FINISH: %s",
			    errno_name(err));
		close(fd);
	}
}

TEST_F(concurrency, finish_races_with_retrieve)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct cprstash_list info;

	ASSERT_GE(efd, 0);
	stash_preserve(self->stash, efd, "shared");
	close(efd);
	stash_seal(self->stash, DEADLINE_MS);
	run_workers(self->stash, retrieve_until_finished);

	info = stash_info(self->stash);
	EXPECT_EQ(CPRSTASH_STATE_OPEN, info.state);
	EXPECT_EQ(0, info.nr_entries);
	close(self->stash);
	EXPECT_EQ(self->fds_at_start, fd_count());
}

TEST_HARNESS_MAIN
