# shellcheck shell=bash
# Sourceable helpers over a running jepsen/lab, read from its lab.json, for tests, benchmarks
# and the demo. Set LAB_JSON to the lab.json path first.
#   labq EXPR                  jq -r EXPR on lab.json
#   lab_now_ms                 milliseconds since the epoch
#   lab_vip_holders            the hosts holding the VIP now, as "m1," or "m1,m2," ("" for none)
#   lab_watch_vip OUT          sample the holders every 20 ms into OUT ("<ms> <holders>" lines)
#                              until killed (run it in the background; the caller kills it)
#   lab_client_sql SQL         run SQL through the VIP as the client user, from the client
#                              namespace (1 s connect timeout)
#   lab_root_sql HOST SQL      run SQL as root over HOST's socket

labq() { jq -r "$1" "$LAB_JSON"; }

lab_now_ms() { echo $(($(date +%s%N) / 1000000)); }

lab_vip_holders() {
    local x h="" vip
    vip=$(labq .vip)
    for x in m1 m2 s; do
        ip -n "$(labq ".hosts.$x.namespace")" -4 -o addr show 2> /dev/null | grep -qF " $vip/" &&
            h="$h$x,"
    done
    echo "$h"
}

lab_watch_vip() {
    local out=$1
    while :; do
        echo "$(lab_now_ms) $(lab_vip_holders)"
        sleep 0.02
    done > "$out"
}

lab_client_sql() {
    ip netns exec "$(labq .client.namespace)" mariadb \
        --defaults-extra-file="$(labq .client.credentials_file)" --connect-timeout=1 \
        -h "$(labq .vip)" -N -B "$(labq .client.database)" -e "$1"
}

lab_root_sql() {
    mariadb --no-defaults -uroot -S "$(labq ".hosts.$1.mysql_socket")" -N -B -e "$2"
}
