# Instance metadata in the OpenStack layout (sourced by rcS). `fetch_metadata DIR` puts
# meta_data.json (and user_data when there is one) of openstack/latest into DIR, from a
# config drive (a filesystem labelled config-2) or else from the metadata service at
# 169.254.169.254, and prints where it came from. JSON is read with sed and awk, enough
# for the flat fields used here.

from_config_drive() {
    dev=$(findfs LABEL=config-2 2>/dev/null) || return 1
    mkdir -p /mnt/config
    mount -o ro "$dev" /mnt/config 2>/dev/null || return 1
    latest=/mnt/config/openstack/latest
    cp "$latest/meta_data.json" "$1/" 2>/dev/null
    [ -f "$latest/user_data" ] && cp "$latest/user_data" "$1/"
    umount /mnt/config
    [ -f "$1/meta_data.json" ] && echo "config drive $dev"
}

# http_get PATH FILE: the body of a 200 answer to GET http://169.254.169.254PATH
# (busybox wget cannot run in this root: a hand-written HTTP/1.0 request over nc).
http_get() {
    printf 'GET %s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' "$1" \
        | nc -w 3 169.254.169.254 80 >"$2.http" 2>/dev/null
    cr=$(printf '\r')
    {
        read -r _ status _ && [ "$status" = 200 ] || return 1
        while read -r line && [ -n "$line" ] && [ "$line" != "$cr" ]; do :; done
        cat >"$2"
    } <"$2.http"
}

from_metadata_service() {
    ip route get 169.254.169.254 >/dev/null 2>&1 || return 1
    http_get /openstack/latest/meta_data.json "$1/meta_data.json" || return 1
    http_get /openstack/latest/user_data "$1/user_data" || rm -f "$1/user_data"
    rm -f "$1"/*.http
    echo "metadata service"
}

fetch_metadata() {
    mkdir -p "$1"
    from_config_drive "$1" || from_metadata_service "$1"
}

# json_string KEY FILE: the string value of KEY (its last occurrence).
json_string() {
    tr -d '\n' <"$2" | sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"
}

# public_keys FILE: the values of the public_keys object, one key a line.
public_keys() {
    tr -d '\n' <"$1" | sed -n 's/.*"public_keys" *: *{\([^}]*\)}.*/\1/p' \
        | awk -F'"' '{ for (i = 4; i <= NF; i += 4) print $i }' \
        | sed 's/\\n//g; s#\\/#/#g'
}
