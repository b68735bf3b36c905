/*
 * The daemon's configuration: one INI file (parsed with inih) validated into a typed struct in
 * one place. Every key, its type, range and default is in the table in config.c and documented
 * in docs/mmcoord.conf.5. Unknown sections and keys are errors, so a typo never goes unnoticed,
 * and an error names the file, the line, the key, the bad value and what is expected.
 *
 * Layout of the file:
 *   [cluster]     name, secret_file, timing (heartbeat, election timeout, lease), VIP ...
 *   [node ID]     one per node: raft_address, mysql_address, candidate
 *   [local]       the node this file is for: id, data_dir, control_socket, credentials
 */
#ifndef MMC_CONFIG_H
#define MMC_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/lease.h"
#include "coord/log.h"

#define CONFIG_MAX_NODES    7
#define CONFIG_ID_SIZE      32  /* node ids: [A-Za-z0-9_-]{1,31} */
#define CONFIG_NAME_SIZE    64  /* cluster name: same alphabet, 1..63 */
#define CONFIG_ADDRESS_SIZE 128 /* "host:port" */
#define CONFIG_PATH_SIZE    256
#define CONFIG_SOCKET_SIZE  108 /* sizeof sun_path */
#define CONFIG_IFNAME_SIZE  16  /* IFNAMSIZ */
#define CONFIG_SECRET_MIN   16  /* bytes of secret, after trimming a final newline */
#define CONFIG_SECRET_MAX   1024
#define CONFIG_ERRMSG_SIZE  512

struct config_node {
    char id[CONFIG_ID_SIZE];
    uint64_t raft_id;                       /* config_raft_id(id): stable, never 0 */
    char raft_address[CONFIG_ADDRESS_SIZE]; /* "IPv4:port", as raft and the transport use it */
    char mysql_host[CONFIG_ADDRESS_SIZE];   /* host part of mysql_address */
    uint16_t mysql_port;                    /* port part of mysql_address (default 3306) */
    bool candidate;                         /* may become writer */
    unsigned line;                          /* line of the [node ID] header, for messages */
};

struct config {
    char path[CONFIG_PATH_SIZE]; /* the file it was read from ("<string>" for tests) */

    /* [cluster] */
    char cluster_name[CONFIG_NAME_SIZE];
    char secret_file[CONFIG_PATH_SIZE];
    unsigned heartbeat_ms;        /* raft heartbeat; default 50 */
    unsigned election_timeout_ms; /* raft election timeout; default 300 */
    unsigned lease_ms;            /* writer lease L; default 1000 */
    double lease_drift;           /* clock-rate drift bound rho; default 0.05, in [0, 0.5) */
    unsigned lease_margin_ms;     /* delta; default 100 */
    unsigned fence_budget_ms;     /* F: time fencing may take; default 200, < lease_ms / 2 */
    unsigned report_interval_ms;  /* how often each node reports its liveness; default 1000 */
    unsigned snapshot_threshold;  /* raft_set_snapshot_threshold; default 1024 */
    unsigned snapshot_trailing;   /* raft_set_snapshot_trailing; default 128 */
    unsigned probe_interval_ms;   /* how often the local MySQL is probed; default 100 */
    unsigned probe_timeout_ms;    /* a probe's deadline; default 300 */
    bool promote_with_loss;       /* availability over loss (decide.h); default no */
    unsigned garp_count;          /* gratuitous ARPs after adding the VIP; default 5 */
    unsigned garp_interval_ms;    /* between them; default 200 */
    unsigned garp_refresh_ms;     /* re-announce while held; default 0 (off) */
    char vip[64];                 /* "a.b.c.d/len", empty when not set (later issues use it) */
    char vip_interface[CONFIG_IFNAME_SIZE];
    bool vip_lifetime;     /* the VIP carries a kernel lifetime; default yes */
    unsigned tcp_reset_ms; /* reset stale-ARP TCP segments this long after the VIP left; 5000 */
    unsigned vip_lifetime_late_ms; /* K: kernel removal of an expired VIP this late; default 400 */
    enum log_level log_level;      /* default info */

    /* [node ID] sections, in file order */
    struct config_node nodes[CONFIG_MAX_NODES];
    unsigned n_nodes;

    /* [local] */
    char local_id[CONFIG_ID_SIZE];
    unsigned local_index; /* index of the local node in nodes[] */
    char data_dir[CONFIG_PATH_SIZE];
    char control_socket[CONFIG_SOCKET_SIZE]; /* default /run/mmcoord/mmcoordd.sock */
    char control_group[CONFIG_NAME_SIZE];    /* group owning the socket; empty: root's group */
    char mysql_credentials_file[CONFIG_PATH_SIZE];       /* my.cnf-style [client] user/password */
    char replication_credentials_file[CONFIG_PATH_SIZE]; /* the replication user, same format */
    char fencer_socket[CONFIG_SOCKET_SIZE];              /* default /run/mmcoord/fencer.sock */
};

/* Load and validate @path into @out. On success returns 0 and every field is set (defaults
 * filled in). On failure returns -EINVAL (bad content: errmsg names file:line, key, value and
 * what is expected), or -errno when the file cannot be read (errmsg names the file and the
 * errno text); @out is then unspecified. The secret and credentials files are not read here:
 * see config_read_secret(). The only other outside fact consulted is the group database
 * (getgrnam, for control_group). Lines are limited to 198 characters (inih's line buffer). */
int config_load(const char *path, struct config *out, char *errmsg, size_t errlen);

/* Same as config_load() on text already in memory; @name stands for the file in messages. */
int config_parse_string(const char *text, const char *name, struct config *out, char *errmsg,
                        size_t errlen);

/* Read the cluster secret from @path into @buf (capacity CONFIG_SECRET_MAX), one trailing
 * newline removed, and set *@len. Refuses (-EPERM) a file that group or others may read or
 * write (mode & 077), as ssh does, and says which mode to set; -EINVAL when the secret is
 * shorter than CONFIG_SECRET_MIN bytes or longer than CONFIG_SECRET_MAX; -errno when it cannot
 * be read. */
int config_read_secret(const char *path, unsigned char *buf, size_t *len, char *errmsg,
                       size_t errlen);

/* Check that @path (a credentials file) is not readable or writable by group or others.
 * Returns 0, -EPERM with a message that names the file and the chmod to run, or -errno. */
int config_check_private_file(const char *path, char *errmsg, size_t errlen);

/* The stable raft id of a node id: a 64-bit FNV-1a hash of the id, never 0. Ids do not
 * change when nodes are reordered in the file. */
uint64_t config_raft_id(const char *node_id);

/* The node with @id, or NULL. */
const struct config_node *config_find_node(const struct config *config, const char *id);

/* The node with raft id @raft_id, or NULL. */
const struct config_node *config_find_raft_id(const struct config *config, uint64_t raft_id);

/* The known keys, in the order of the table in config.c, for documentation checks and help
 * output: for @index below the number of keys, sets the key's @section ("cluster", "node" or
 * "local"), its @key name and a one-line @help, and returns true; returns false past the end.
 * The strings are static. */
bool config_key_at(size_t index, const char **section, const char **key, const char **help);

/* The lease parameters of @c (coord/lease.h), the same on the writer's host and the leader: the
 * VIP's kernel lifetime is in the lease arithmetic exactly when a VIP is configured. */
void config_lease_params(const struct config *c, struct lease_params *out);

#endif /* MMC_CONFIG_H */
