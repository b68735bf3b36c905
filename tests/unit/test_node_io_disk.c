/* raft/node.c's I/O guard on a real disk. Three raft nodes (one process each, raft_uv on ext4
 * under /tmp with small segments, raft_uv's TCP transport on 127.0.0.1) replicate entries that
 * carry their own index. A follower's data dir is made immutable, as `chattr -R +i` does, while
 * entries flow. Alone, libraft 0.15 goes on: the failed entries never reach that disk, later ones
 * land behind the gap in a segment named as if there were none, and the next start reads every
 * later entry at a wrong index or refuses the log (run with MMC_TEST_UNGUARDED=1 to see it).
 * With the guard the follower leaves with status 3; the dir is made writable again, the
 * follower restarts and catches up; then every node is killed and each data dir is loaded the
 * way raft loads it at start: every entry must sit at its own index.
 * Needs root and a file system with the immutable flag: skips (77) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft/node.h"

#define N_NODES          3
#define MAGIC            0x6d6d632d696e6478ULL /* "mmc-indx" */
#define PAYLOAD_WORDS    8
#define SEGMENT_SIZE     8192 /* several segments a second: the gap spans a new one */
#define PROPOSE_EVERY_MS 2
#define WARMUP_MS        500
#define DEADLINE_MS      15000
#define CATCH_UP_MS      1000

static char top_dir[] = "/tmp/mmc-node-io-disk-XXXXXX";
static char data_dirs[N_NODES][64];
static char addresses[N_NODES][32];
static pid_t pids[N_NODES];
static bool guarded = true; /* MMC_TEST_UNGUARDED=1 shows what libraft does alone */

static void set_immutable_all(const char *dir, bool on);

static void stop_all(void)
{
    for (int i = 0; i < N_NODES; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
    }
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                     \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

/* ---- The immutable flag, as chattr sets it ---- */

static int set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int flags = 0;
    int rv = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (rv == 0) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        rv = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    int err = rv == 0 ? 0 : -errno;
    close(fd);
    return err;
}

/* A data dir and every file in it (raft_uv's data dir is flat). */
static void set_immutable_all(const char *dir, bool on)
{
    if (on) {
        set_immutable(dir, true);
    }
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char path[sizeof data_dirs[0] + sizeof e->d_name + 1];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                set_immutable(path, on);
            }
        }
        closedir(d);
    }
    if (!on) {
        set_immutable(dir, false);
    }
}

/* ---- One node, in a child process, until killed or ended by the guard ---- */

static struct raft raft;

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    (void)fsm, (void)buf;
    *result = NULL;
    return 0;
}

static void applied(struct raft_apply *req, int status, void *result)
{
    (void)status, (void)result;
    free(req);
}

static void propose(uv_timer_t *timer)
{
    (void)timer;
    if (raft_state(&raft) != RAFT_LEADER) {
        return;
    }
    uint64_t payload[PAYLOAD_WORDS] = {raft_last_index(&raft) + 1, MAGIC};
    struct raft_buffer buf = {.base = raft_malloc(sizeof payload), .len = sizeof payload};
    struct raft_apply *req = malloc(sizeof *req);
    if (buf.base == NULL || req == NULL) {
        _exit(20);
    }
    memcpy(buf.base, payload, sizeof payload);
    if (raft_apply(&raft, req, &buf, 1, applied) != 0) {
        raft_free(buf.base);
        free(req);
    }
}

static char state_path[N_NODES][96];
static int self;

/* The parent reads this node's role here (written atomically). */
static void publish_state(uv_timer_t *timer)
{
    (void)timer;
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s.tmp", state_path[self]);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return;
    }
    fprintf(f, "%d %llu\n", raft_state(&raft), (unsigned long long)raft.commit_index);
    fclose(f);
    rename(tmp, state_path[self]);
}

static void on_event(void *data, enum log_level level, const char *message)
{
    (void)data, (void)level;
    fprintf(stderr, "node %d event: %s\n", self + 1, message);
}

static void run_node(int index)
{
    self = index;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io uv_io;
    static struct node_io_guard guard;
    struct raft_fsm fsm = {.version = 1, .apply = fsm_apply};
    uv_loop_init(&loop);
    if (raft_uv_tcp_init(&transport, &loop) != 0 ||
        raft_uv_init(&uv_io, &loop, data_dirs[index], &transport) != 0) {
        fprintf(stderr, "raft_uv_init on %s: %s\n", data_dirs[index], uv_io.errmsg);
        _exit(21);
    }
    raft_uv_set_segment_size(&uv_io, SEGMENT_SIZE);
    node_io_guard_init(&guard, &uv_io, data_dirs[index], on_event, NULL);
    struct raft_io *io = guarded ? node_io_guard_io(&guard) : &uv_io;
    if (raft_init(&raft, io, &fsm, (raft_id)index + 1, addresses[index]) != 0) {
        fprintf(stderr, "raft_init: %s\n", raft_errmsg(&raft));
        _exit(22);
    }
    raft_set_election_timeout(&raft, 300);
    raft_set_heartbeat_timeout(&raft, 50);
    raft_set_snapshot_threshold(&raft, 1000000);
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (int i = 0; i < N_NODES; i++) {
        raft_configuration_add(&conf, (raft_id)i + 1, addresses[i], RAFT_VOTER);
    }
    int rv = raft_bootstrap(&raft, &conf);
    raft_configuration_close(&conf);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
        _exit(23);
    }
    if (raft_start(&raft) != 0) {
        fprintf(stderr, "raft_start on %s: %s\n", data_dirs[index], raft_errmsg(&raft));
        _exit(24);
    }
    uv_timer_t propose_timer, state_timer;
    uv_timer_init(&loop, &propose_timer);
    uv_timer_start(&propose_timer, propose, PROPOSE_EVERY_MS, PROPOSE_EVERY_MS);
    uv_timer_init(&loop, &state_timer);
    uv_timer_start(&state_timer, publish_state, 20, 20);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(25);
}

static void spawn(int index)
{
    pid_t pid = fork();
    if (pid < 0) {
        FAIL("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        run_node(index);
    }
    pids[index] = pid;
}

static int read_state(int index, unsigned long long *commit)
{
    FILE *f = fopen(state_path[index], "r");
    if (f == NULL) {
        return -1;
    }
    int state = -1;
    if (fscanf(f, "%d %llu", &state, commit) != 2) {
        state = -1;
    }
    fclose(f);
    return state;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait up to @deadline_ms for node @index to end; returns its exit status, -signal, or -1000
 * when it was still running (it is killed then). */
static int wait_exit(int index, long long deadline_ms)
{
    long long until = now_ms() + deadline_ms;
    for (;;) {
        int status;
        if (waitpid(pids[index], &status, WNOHANG) == pids[index]) {
            pids[index] = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        if (now_ms() > until) {
            kill(pids[index], SIGKILL);
            waitpid(pids[index], &status, 0);
            pids[index] = 0;
            return -1000;
        }
        poll(NULL, 0, 10);
    }
}

/* ---- Loading a log as raft does at start ---- */

static void io_closed(struct raft_io *io)
{
    (void)io;
}

/* Every command entry must carry its own index; returns how many there are. */
static unsigned long long check_log(const char *dir)
{
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    uv_loop_init(&loop);
    if (raft_uv_tcp_init(&transport, &loop) != 0 ||
        raft_uv_init(&io, &loop, dir, &transport) != 0 || io.init(&io, 1, "127.0.0.1:9") != 0) {
        FAIL("cannot open %s with raft_uv: %s", dir, io.errmsg);
    }
    raft_term term;
    raft_id voted_for;
    struct raft_snapshot *snapshot = NULL;
    raft_index start;
    struct raft_entry *entries = NULL;
    size_t n = 0;
    if (io.load(&io, &term, &voted_for, &snapshot, &start, &entries, &n) != 0) {
        FAIL("raft cannot load %s: %s", dir, io.errmsg);
    }
    if (snapshot != NULL) {
        FAIL("unexpected snapshot in %s", dir);
    }
    unsigned long long commands = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].type != RAFT_COMMAND) {
            continue;
        }
        uint64_t payload[PAYLOAD_WORDS] = {0};
        if (entries[i].buf.len == sizeof payload) {
            memcpy(payload, entries[i].buf.base, sizeof payload);
        }
        if (payload[1] != MAGIC || payload[0] != start + i) {
            FAIL("%s: the entry loaded at index %llu is entry %llu (shifted by %lld): the log "
                 "has a hole",
                 dir, (unsigned long long)(start + i), (unsigned long long)payload[0],
                 (long long)payload[0] - (long long)(start + i));
        }
        commands++;
    }
    void *batch = NULL;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].batch != batch) {
            batch = entries[i].batch;
            raft_free(batch);
        }
    }
    raft_free(entries);
    io.close(&io, io_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    raft_uv_close(&io);
    raft_uv_tcp_close(&transport);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return commands;
}

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        FAIL("no free port on 127.0.0.1: %s", strerror(errno));
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void cleanup(void)
{
    stop_all();
    for (int i = 0; i < N_NODES; i++) {
        set_immutable_all(data_dirs[i], false);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", top_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", top_dir);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (geteuid() != 0) {
        printf("SKIP: needs root to set the immutable flag\n");
        return 77;
    }
    const char *unguarded = getenv("MMC_TEST_UNGUARDED");
    guarded = unguarded == NULL || strcmp(unguarded, "1") != 0;
    if (mkdtemp(top_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    for (int i = 0; i < N_NODES; i++) {
        snprintf(data_dirs[i], sizeof data_dirs[i], "%s/n%d", top_dir, i + 1);
        snprintf(state_path[i], sizeof state_path[i], "%s/n%d.state", top_dir, i + 1);
        snprintf(addresses[i], sizeof addresses[i], "127.0.0.1:%d", free_port());
        mkdir(data_dirs[i], 0700);
    }
    atexit(cleanup);
    int rv = set_immutable(data_dirs[0], true);
    if (rv != 0) {
        printf("SKIP: %s takes no immutable flag: %s\n", top_dir, strerror(-rv));
        return 77;
    }
    set_immutable(data_dirs[0], false);

    for (int i = 0; i < N_NODES; i++) {
        spawn(i);
    }
    /* A follower while entries flow. */
    int target = -1;
    unsigned long long commit_before = 0;
    long long until = now_ms() + DEADLINE_MS;
    while (target < 0) {
        if (now_ms() > until) {
            FAIL("no leader with a follower in %d ms", DEADLINE_MS);
        }
        poll(NULL, 0, WARMUP_MS);
        int leader = -1;
        for (int i = 0; i < N_NODES; i++) {
            unsigned long long commit;
            if (read_state(i, &commit) == RAFT_LEADER) {
                leader = i;
                commit_before = commit;
            }
        }
        if (leader >= 0 && commit_before > 50) {
            target = (leader + 1) % N_NODES;
        }
    }
    set_immutable_all(data_dirs[target], true);
    fprintf(stderr, "node %d (a follower) has an immutable data dir; commit index %llu\n",
            target + 1, commit_before);
    int status;
    if (guarded) {
        status = wait_exit(target, DEADLINE_MS);
        set_immutable_all(data_dirs[target], false);
        if (status != NODE_EXIT_STORAGE_FAILED) {
            FAIL("node %d ended with %d, not with status %d", target + 1, status,
                 NODE_EXIT_STORAGE_FAILED);
        }
    } else {
        /* The chaos nemesis's timing: immutable for a while, writable again, later a kill. */
        poll(NULL, 0, 1000);
        set_immutable_all(data_dirs[target], false);
        poll(NULL, 0, 500);
        status = wait_exit(target, 0);
    }
    fprintf(stderr, "node %d ended with %d; data dir writable again; restarting it\n", target + 1,
            status);
    unlink(state_path[target]);
    spawn(target); /* the supervisor's restart */
    until = now_ms() + DEADLINE_MS;
    unsigned long long commit = 0;
    while (read_state(target, &commit) != RAFT_FOLLOWER || commit < commit_before + 100) {
        int ended;
        bool gone = waitpid(pids[target], &ended, WNOHANG) == pids[target];
        if (gone || now_ms() > until) {
            if (gone) {
                pids[target] = 0;
            }
            stop_all();
            check_log(data_dirs[target]); /* names the hole if there is one */
            FAIL("the restarted node %d %s (commit index %llu, %llu before the fault)", target + 1,
                 gone ? "ended" : "did not catch up", commit, commit_before);
        }
        poll(NULL, 0, 20);
    }
    poll(NULL, 0, CATCH_UP_MS);
    stop_all();
    for (int i = 0; i < N_NODES; i++) {
        unsigned long long n = check_log(data_dirs[i]);
        printf("node %d: %llu entries, each at its own index\n", i + 1, n);
    }
    printf("PASS: a follower whose data dir became immutable left with status %d and its log "
           "reloads whole\n",
           NODE_EXIT_STORAGE_FAILED);
    return 0;
}
