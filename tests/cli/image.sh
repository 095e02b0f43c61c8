#!/usr/bin/env bash
# End-to-end acceptance test of the Ciel image service (Glance v2 API), driven by
# the real `openstack` CLI (python-openstackclient) plus curl for exact HTTP checks.
#
# Usage: tests/cli/image.sh
#   CIEL_BIN         ciel binary            (default: <repo>/target/release/ciel)
#   CIEL_TEST_CACHE  holds venv/ with python-openstackclient (default: ~/.cache/ciel-test)
#   KEEP_TMP=1       keep the temp dir (data dirs, logs, image files) for inspection
#
# Needs qemu-img, curl, python3, md5sum, sha512sum, cmp.
# Prints PASS/FAIL per check and a summary; exits non-zero if any check failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
VENV=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/venv
OPENSTACK=$VENV/bin/openstack
PY=python3

[[ -x $OPENSTACK ]] || { echo "openstack CLI not found at $OPENSTACK" >&2; exit 2; }
for c in curl qemu-img md5sum sha512sum cmp; do
    command -v "$c" >/dev/null || { echo "$c is required" >&2; exit 2; }
done

CIEL_TEST_NAME=image-test
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"
# http_dl FILE METHOD URL [curl args...]: like http, but the body goes to FILE (binary data)
http_dl() {
    local file=$1 method=$2 url=$3; shift 3
    local hf=$TMP/.headers
    HTTP_CODE=$(curl -sS -o "$file" -D "$hf" -w '%{http_code}' -X "$method" "$url" "$@") || HTTP_CODE=000
    HTTP_BODY="(binary, in $file)"
    HTTP_HEADERS=$(tr -d '\r' <"$hf" 2>/dev/null || true)
}

# ------------------------------------------------------- image helpers --
# img_create_http IMAGE_BASE TOKEN NAME [DISK_FORMAT]: POST /v2/images; sets HTTP_* and IMG (id or "")
IMG=""
img_create_http() {
    local base=$1 tok=$2 name=$3 fmt=${4:-qcow2}
    http POST "$base/v2/images" -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$name\",\"disk_format\":\"$fmt\",\"container_format\":\"bare\"}"
    IMG=$(jf "$HTTP_BODY" 'd.get("id","")' 2>/dev/null || true)
}
# img_upload_http IMAGE_BASE TOKEN ID FILE: PUT /v2/images/ID/file
img_upload_http() {
    http PUT "$1/v2/images/$3/file" -H "X-Auth-Token: $2" -H 'Content-Type: application/octet-stream' \
        --data-binary "@$4"
}
# field JSON KEY: image attribute KEY, top-level or (as OSC prints some) under "properties"
field() { jf "$1" "d.get('$2', d.get('properties', {}).get('$2'))"; }
# message_matches REGEX: $HTTP_BODY is JSON with a string field `message` matching REGEX (case-insensitive)
message_matches() {
    local m
    m=$(jf "$HTTP_BODY" 'd["message"] if isinstance(d.get("message"), str) else ""' 2>/dev/null) || m=""
    [[ -n $m ]] || { echo "no string field \"message\" in body: $HTTP_BODY"; return 1; }
    grep -qiE -- "$1" <<<"$m" || { echo "message does not match /$1/: $m"; return 1; }
}
# no_active_named LISTJSON NAME: no image called NAME is active in an `image list --long -f json`
no_active_named() {
    local n
    n=$(jf "$1" "len([i for i in d if i['Name']=='$2' and i['Status']=='active'])")
    [[ $n == 0 ]] || { echo "$n active image(s) named $2: $1"; return 1; }
}
# in_list LISTJSON ID / not_in_list LISTJSON ID: on an `image list -f json`
in_list() { [[ $(jf "$1" "'$2' in [i['ID'] for i in d]") == True ]] || { echo "$2 not in list: $1"; return 1; }; }
not_in_list() { [[ $(jf "$1" "'$2' in [i['ID'] for i in d]") == False ]] || { echo "$2 unexpectedly in list: $1"; return 1; }; }

# ------------------------------------------------------------- fixtures --
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ID=$BASE/identity
IMGAPI=$BASE/image
AUTH_URL=$ID/v3
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
SFX=$RANDOM
PA=img-a-$SFX   PB=img-b-$SFX
UA=img-ua-$SFX  UB=img-ub-$SFX
PW_A="ua-pw-$SFX" PW_B="ub-pw-$SFX"
CAP=1073741824  # [image] max_virtual_size of the main instance (1 GiB)

F=$TMP/files
mkdir -p "$F"
echo "ciel: $CIEL_BIN  port: $PORT  tmp: $TMP"

step "0. image files"
# a 64 MiB raw disk with 4 MiB of random data in the middle, converted to qcow2
check "qemu-img create -f raw 64M + 4 MiB random" bash -c \
    'qemu-img create -q -f raw "$1/disk.raw" 64M && dd if=/dev/urandom of="$1/disk.raw" bs=1M count=4 seek=8 conv=notrunc status=none' _ "$F"
check "qemu-img convert raw -> qcow2 (disk.qcow2)" qemu-img convert -f raw -O qcow2 "$F/disk.raw" "$F/disk.qcow2"
check "qemu-img create -f qcow2 empty.qcow2 64M" qemu-img create -q -f qcow2 "$F/empty.qcow2" 64M
check "evil.qcow2 with backing file /etc/passwd" qemu-img create -q -f qcow2 -b /etc/passwd -F raw "$F/evil.qcow2" 1M
check "extdata.qcow2 with an external data file" qemu-img create -q -f qcow2 -o data_file="$F/extdata.raw" "$F/extdata.qcow2" 1M
check "big.qcow2 declaring 2G" qemu-img create -q -f qcow2 "$F/big.qcow2" 2G
check "rand.raw: 3 MiB of random bytes" bash -c 'head -c 3M /dev/urandom >"$1/rand.raw"' _ "$F"
DISK_SIZE=$(stat -c %s "$F/disk.qcow2")
DISK_MD5=$(md5sum "$F/disk.qcow2" | cut -d' ' -f1)
DISK_SHA512=$(sha512sum "$F/disk.qcow2" | cut -d' ' -f1)
assert "disk.qcow2 is not trivial (> 4 MiB)" test "$DISK_SIZE" -gt 4194304

# ------------------------------------------------------------------ step 1 --
step "1. start ciel ([image] max_virtual_size = $CAP), users and projects"
cat >"$TMP/ciel.toml" <<EOF
[image]
max_virtual_size = $CAP
EOF
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW" --config "$TMP/ciel.toml"
CIEL_PID=$STARTED_PID
check "ciel up answers 200 on /identity/v3" wait_ready "$BASE" "$CIEL_PID"
ok || { cat "$LOG"; abort "ciel did not start"; }
check "catalog list" adm catalog list -f json
    ok && assert "  catalog has type image at $IMGAPI" eq "$(jf "$OUT" \
        "sorted({e['url'] for s in d if s['Type']=='image' for e in s['Endpoints']})")" "[\"$IMGAPI\"]"
auth_http "$ID" admin "$ADMIN_PW" admin
ADMIN_TOKEN=$TOKEN
assert "curl: admin token" code_is 201
check "project create $PA" adm project create "$PA" -f value -c id; PA_ID=$OUT
check "project create $PB" adm project create "$PB" -f value -c id; PB_ID=$OUT
check "user create $UA (member of A)" adm user create --password "$PW_A" --project "$PA" "$UA" -f value -c id
check "role add member $UA on A" adm role add --project "$PA" --user "$UA" member
check "user create $UB (member of B)" adm user create --password "$PW_B" --project "$PB" "$UB" -f value -c id
check "role add member $UB on B" adm role add --project "$PB" --user "$UB" member
ua() { as_user "$UA" "$PW_A" "$PA" "$@"; }
ub() { as_user "$UB" "$PW_B" "$PB" "$@"; }
auth_http "$ID" "$UA" "$PW_A" "$PA"; A_TOKEN=$TOKEN
assert "curl: user A token" code_is 201
auth_http "$ID" "$UB" "$PW_B" "$PB"; B_TOKEN=$TOKEN
assert "curl: user B token" code_is 201
[[ -n $A_TOKEN && -n $B_TOKEN && -n $ADMIN_TOKEN ]] || abort "missing tokens"

# ------------------------------------------------------------------ step 2 --
step "2. create, list, show"
NAME=cli-disk-$SFX
IMG1=""
check "image create --file disk.qcow2 --disk-format qcow2 --container-format bare $NAME" \
    adm image create --file "$F/disk.qcow2" --disk-format qcow2 --container-format bare "$NAME" -f json
    ok && IMG1=$(jf "$OUT" 'd["id"]') || true
    ok && assert "  status active" eq "$(jf "$OUT" 'd["status"]')" active
check "image list" adm image list -f json
    ok && assert "  list shows $NAME active" eq "$(jf "$OUT" "[(i['ID'],i['Status']) for i in d if i['Name']=='$NAME']")" "[[\"$IMG1\", \"active\"]]"
check "image show $NAME" adm image show "$NAME" -f json
if ok; then
    SHOW=$OUT
    assert "  size = file size ($DISK_SIZE)" eq "$(field "$SHOW" size)" "$DISK_SIZE"
    assert "  checksum = md5sum" eq "$(field "$SHOW" checksum)" "$DISK_MD5"
    assert "  os_hash_algo = sha512" eq "$(field "$SHOW" os_hash_algo)" sha512
    assert "  os_hash_value = sha512sum" eq "$(field "$SHOW" os_hash_value)" "$DISK_SHA512"
    assert "  virtual_size = 64 MiB" eq "$(field "$SHOW" virtual_size)" 67108864
    assert "  disk/container format qcow2/bare" eq "$(jf "$SHOW" '[d["disk_format"], d["container_format"]]')" '["qcow2", "bare"]'
fi
http GET "$IMGAPI/v2/images/$IMG1" -H "X-Auth-Token: $ADMIN_TOKEN"
assert "curl: GET /v2/images/{id} -> 200" code_is 200
    ok && assert "  API: checksum, os_hash_algo, os_hash_value, size, virtual_size at top level" eq "$(jf "$HTTP_BODY" \
        '[d["checksum"], d["os_hash_algo"], d["os_hash_value"], d["size"], d["virtual_size"]]')" \
        "[\"$DISK_MD5\", \"sha512\", \"$DISK_SHA512\", $DISK_SIZE, 67108864]"
EMPTY=cli-empty-$SFX
check "image create --file empty.qcow2 (qemu-img create -f qcow2 64M)" \
    adm image create --file "$F/empty.qcow2" --disk-format qcow2 --container-format bare "$EMPTY" -f json
    ok && assert "  active, virtual_size 64 MiB" eq "$(jf "$OUT" '[d["status"], d.get("virtual_size")]')" '["active", 67108864]'
    ok && assert "  checksum = md5sum" eq "$(field "$OUT" checksum)" "$(md5sum "$F/empty.qcow2" | cut -d' ' -f1)"

# ------------------------------------------------------------------ step 3 --
step "3. properties, tags, download"
check "image set --property k=v --tag t" adm image set --property k=v --tag t "$IMG1"
check "image show after set" adm image show "$IMG1" -f json
    ok && assert "  property k=v" eq "$(field "$OUT" k)" v
    ok && assert "  tags = [t]" eq "$(jf "$OUT" 'd["tags"]')" '["t"]'
check "image save --file out" adm image save --file "$TMP/out.qcow2" "$IMG1"
    ok && assert "  saved file is byte-identical (cmp)" cmp "$F/disk.qcow2" "$TMP/out.qcow2"
http_dl "$TMP/range.bin" GET "$IMGAPI/v2/images/$IMG1/file" -H "X-Auth-Token: $ADMIN_TOKEN" -H 'Range: bytes=10-19'
assert "curl: GET file with Range: bytes=10-19 -> 206" code_is 206
    dd if="$F/disk.qcow2" of="$TMP/range.expected" bs=1 skip=10 count=10 status=none
    assert "  exactly bytes 10..19 of the file" cmp "$TMP/range.bin" "$TMP/range.expected"
    assert "  Content-Range: bytes 10-19/$DISK_SIZE" eq "$(sed -n 's/^[Cc]ontent-[Rr]ange: *//p' <<<"$HTTP_HEADERS")" "bytes 10-19/$DISK_SIZE"
http_dl "$TMP/full.bin" GET "$IMGAPI/v2/images/$IMG1/file" -H "X-Auth-Token: $ADMIN_TOKEN"
assert "curl: GET file (no Range) -> 200" code_is 200
    assert "  whole file byte-identical" cmp "$TMP/full.bin" "$F/disk.qcow2"

# ------------------------------------------------------------------ step 4 --
step "4. sharing between projects A and B"
SH=cli-shared-$SFX PR=cli-private-$SFX
SH_ID="" PR_ID=""
check "A: image create --shared $SH" ua image create --shared --file "$F/disk.qcow2" --disk-format qcow2 --container-format bare "$SH" -f json
    ok && SH_ID=$(jf "$OUT" 'd["id"]') || true
    ok && assert "  visibility shared, owner A" eq "$(jf "$OUT" '[d["visibility"], d["owner"], d["status"]]')" "[\"shared\", \"$PA_ID\", \"active\"]"
check "A: image create --private $PR" ua image create --private --file "$F/disk.qcow2" --disk-format qcow2 --container-format bare "$PR" -f json
    ok && PR_ID=$(jf "$OUT" 'd["id"]') || true
    ok && assert "  visibility private" eq "$(jf "$OUT" 'd["visibility"]')" private
[[ -n $SH_ID && -n $PR_ID ]] || abort "A's images were not created"
check "A: image list shows both" ua image list -f json
    ok && assert "  has shared image" in_list "$OUT" "$SH_ID"
    ok && assert "  has private image" in_list "$OUT" "$PR_ID"
check "B: image list" ub image list -f json
    ok && assert "  B does not see A's shared image (not a member yet)" not_in_list "$OUT" "$SH_ID"
expect_fail "B: image show (shared, not a member) fails" ub image show "$SH_ID"
http GET "$IMGAPI/v2/images/$SH_ID" -H "X-Auth-Token: $B_TOKEN"
assert "curl: B GET shared image before membership -> 404" code_is 404
check "A: image add project $SH_ID $PB_ID" ua image add project "$SH_ID" "$PB_ID" -f json
    ok && assert "  member status pending" eq "$(jf "$OUT" 'd.get("status")')" pending
check "A: image member list" ua image member list "$SH_ID" -f json
    ok && assert "  B is a pending member" eq "$(jf "$OUT" '[(m["Member ID"], m["Status"]) for m in d]')" "[[\"$PB_ID\", \"pending\"]]"
check "B: image list while pending" ub image list -f json
    ok && assert "  pending shared image not listed" not_in_list "$OUT" "$SH_ID"
check "B: image set --accept $SH_ID" ub image set --accept "$SH_ID"
check "B: image list after accept" ub image list -f json
    ok && assert "  accepted shared image listed" in_list "$OUT" "$SH_ID"
check "B: image show shared image" ub image show "$SH_ID" -f json
    ok && assert "  owner is A" eq "$(jf "$OUT" 'd["owner"]')" "$PA_ID"
check "B: image save shared image" ub image save --file "$TMP/b-shared.qcow2" "$SH_ID"
    ok && assert "  byte-identical" cmp "$F/disk.qcow2" "$TMP/b-shared.qcow2"
check "B: image list" ub image list -f json
    ok && assert "  A's private image not listed" not_in_list "$OUT" "$PR_ID"
expect_fail "B: image show A's private image fails" ub image show "$PR_ID"
    ok && assert "  CLI says not found" contains "$OUT$ERR" "No Image found"
http GET "$IMGAPI/v2/images/$PR_ID" -H "X-Auth-Token: $B_TOKEN"
assert "curl: B GET A's private image -> 404" code_is 404
    assert "  body does not leak the name" lacks "$HTTP_BODY" "$PR"
http_dl "$TMP/b-private.bin" GET "$IMGAPI/v2/images/$PR_ID/file" -H "X-Auth-Token: $B_TOKEN"
assert "curl: B GET A's private image data -> 404" code_is 404
expect_fail "B: image delete A's shared image fails" ub image delete "$SH_ID"
http DELETE "$IMGAPI/v2/images/$SH_ID" -H "X-Auth-Token: $B_TOKEN"
assert "curl: B DELETE A's shared image -> 403" code_is 403
check "A: shared image still active" ua image show "$SH_ID" -f value -c status
    ok && assert "  status active" eq "$OUT" active
http POST "$IMGAPI/v2/images/$PR_ID/members" -H "X-Auth-Token: $A_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"member\":\"$PB_ID\"}"
assert "curl: adding a member to a private image -> 403" code_is 403

# ------------------------------------------------------------------ step 5 --
step "5. rejected uploads (max_virtual_size = $CAP)"
# reject_cli DESC FILE NAME: OSC upload fails with HTTP 400 and leaves no active image
reject_cli() {
    local desc=$1 file=$2 name=$3
    expect_fail "CLI: image create $desc fails" ua image create --file "$file" --disk-format qcow2 --container-format bare "$name"
        ok && assert "  CLI reports HTTP 400" has_status 400 "$OUT$ERR"
    check "  image list --long" ua image list --long -f json
        ok && assert "  no active image named $name" no_active_named "$OUT" "$name"
}
# reject_http DESC FILE REGEX: POST + PUT file -> 400 with message ~ REGEX; then queued, size null
reject_http() {
    local desc=$1 file=$2 re=$3 id
    img_create_http "$IMGAPI" "$A_TOKEN" "http-$(basename "$file")-$SFX"
    id=$IMG
    assert "curl: POST /v2/images for $desc -> 201" code_is 201
    ok || return 0
    img_upload_http "$IMGAPI" "$A_TOKEN" "$id" "$file"
    assert "curl: PUT file $desc -> 400" code_is 400
    assert "  JSON message explains it (/$re/)" message_matches "$re"
    http GET "$IMGAPI/v2/images/$id" -H "X-Auth-Token: $A_TOKEN"
    assert "  image back to queued with size null" eq "$(jf "$HTTP_BODY" '[d.get("status"), d.get("size"), d.get("checksum")]')" \
        '["queued", null, null]'
    http GET "$IMGAPI/v2/images/$id/file" -H "X-Auth-Token: $A_TOKEN"
    assert "  no data to download (GET file -> 204 or 404)" bash -c '[[ $1 == 204 || $1 == 404 ]] || { echo "got $1"; exit 1; }' _ "$HTTP_CODE"
}
reject_cli "qcow2 with backing file /etc/passwd" "$F/evil.qcow2" "cli-evil-$SFX"
reject_http "qcow2 with backing file /etc/passwd" "$F/evil.qcow2" 'backing'
reject_cli "qcow2 with an external data file" "$F/extdata.qcow2" "cli-extdata-$SFX"
reject_http "qcow2 with an external data file" "$F/extdata.qcow2" 'data.?file'
reject_cli "random raw data declared qcow2" "$F/rand.raw" "cli-rand-$SFX"
reject_http "random raw data declared qcow2" "$F/rand.raw" 'format'
reject_cli "2G qcow2 over the 1 GiB virtual size cap" "$F/big.qcow2" "cli-big-$SFX"
reject_http "2G qcow2 over the 1 GiB virtual size cap" "$F/big.qcow2" 'virtual.?size|too (big|large)|exceed'
# and the same 2G qcow2 is accepted by an instance with the default cap (checked in step 7)

# ------------------------------------------------------------------ step 6 --
step "6. delete"
check "image delete $NAME" adm image delete "$IMG1"
expect_fail "  image show fails" adm image show "$IMG1"
    ok && assert "  CLI says not found" contains "$OUT$ERR" "No Image found"
http GET "$IMGAPI/v2/images/$IMG1" -H "X-Auth-Token: $ADMIN_TOKEN"
assert "  curl: GET deleted image -> 404" code_is 404
check "  image list" adm image list -f json
    ok && assert "  deleted image not listed" not_in_list "$OUT" "$IMG1"
check "A: image delete own shared image" ua image delete "$SH_ID"
check "B: image list" ub image list -f json
    ok && assert "  A's deleted shared image gone for B" not_in_list "$OUT" "$SH_ID"
stop_ciel "$CIEL_PID" || true
CIEL_PID=""

# ------------------------------------------------------------------ step 7 --
step "7. quotas: max_images_per_project = 2, max_bytes_per_project = 6 MiB"
QDATA=$TMP/qdata QPORT=$(free_port)
QBASE=http://127.0.0.1:$QPORT
cat >"$TMP/quota.toml" <<EOF
[image]
max_images_per_project = 2
max_bytes_per_project = 6291456
EOF
start_ciel "$TMP/ciel-quota.log" --data-dir "$QDATA" --listen "127.0.0.1:$QPORT" --admin-password "$ADMIN_PW" --config "$TMP/quota.toml"
QPID=$STARTED_PID
EXTRA_PIDS+=("$QPID")
check "quota instance answers 200" wait_ready "$QBASE" "$QPID"
if ok; then
    qadm() { OS_CLIENT_CONFIG_FILE=$QDATA/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
    auth_http "$QBASE/identity" admin "$ADMIN_PW" admin
    QTOK=$TOKEN
    check "create #1 (CLI, disk.qcow2, $DISK_SIZE bytes)" qadm image create --file "$F/disk.qcow2" --disk-format qcow2 --container-format bare "q1-$SFX" -f value -c status
        ok && assert "  active" eq "$OUT" active
    # (without --file, OSC uploads its stdin when that is not a tty, so data-less images are made with curl)
    img_create_http "$QBASE/image" "$QTOK" "q2-$SFX"
    Q2_ID=$IMG
    assert "create #2 (curl POST /v2/images, no data) -> 201" code_is 201
    expect_fail "CLI: create #3 in the same project fails" qadm image create --file "$F/disk.qcow2" --disk-format qcow2 --container-format bare "q3-$SFX"
        ok && assert "  CLI reports HTTP 413" has_status 413 "$OUT$ERR"
    img_create_http "$QBASE/image" "$QTOK" "q3c-$SFX"
    assert "curl: POST /v2/images #3 -> 413" code_is 413
        assert "  JSON message mentions the quota" message_matches 'quota|at most|limit'
    check "image list" qadm image list -f value -c Name
        ok && assert "  exactly q1 and q2" eq "$(sort <<<"$OUT" | tr '\n' ' ')" "q1-$SFX q2-$SFX "
    # bytes: 4.3 MiB stored, 6 MiB allowed -> a second copy of disk.qcow2 exceeds it
    if [[ -n $Q2_ID ]]; then
        img_upload_http "$QBASE/image" "$QTOK" "$Q2_ID" "$F/disk.qcow2"
        assert "curl: upload exceeding max_bytes_per_project -> 413" code_is 413
            assert "  JSON message mentions the quota" message_matches 'quota|at most|limit|exceed'
        http GET "$QBASE/image/v2/images/$Q2_ID" -H "X-Auth-Token: $QTOK"
        assert "  image back to queued with size null" eq "$(jf "$HTTP_BODY" '[d.get("status"), d.get("size")]')" '["queued", null]'
        check "image delete q2 (CLI)" qadm image delete "$Q2_ID"
    fi
    img_create_http "$QBASE/image" "$QTOK" "q4-$SFX"
    assert "after the delete, a new create succeeds (201)" code_is 201
else
    cat "$TMP/ciel-quota.log"
fi
stop_ciel "$QPID" || true

# ------------------------------------------------------------------ step 8 --
step "8. ciel up --image cirros=PATH (fresh data dir, default limits)"
SDATA=$TMP/sdata SPORT=$(free_port)
SBASE=http://127.0.0.1:$SPORT
start_ciel "$TMP/ciel-seed.log" --data-dir "$SDATA" --listen "127.0.0.1:$SPORT" --admin-password "$ADMIN_PW" --image "cirros=$F/disk.qcow2"
SPID=$STARTED_PID
EXTRA_PIDS+=("$SPID")
check "seeded instance answers 200" wait_ready "$SBASE" "$SPID"
ok || { cat "$TMP/ciel-seed.log"; abort "seeded ciel did not start"; }
sadm() { OS_CLIENT_CONFIG_FILE=$SDATA/clouds.yaml OS_CLOUD=ciel "$OPENSTACK" "$@"; }
CIR_ID=""
check "image list --long" sadm image list --long -f json
if ok; then
    assert "  exactly one image named cirros, active, public" eq "$(jf "$OUT" \
        "[(i['Status'], i['Visibility']) for i in d if i['Name']=='cirros']")" '[["active", "public"]]'
    CIR_ID=$(jf "$OUT" "([i['ID'] for i in d if i['Name']=='cirros'] or [''])[0]")
fi
check "image show cirros" sadm image show cirros -f json
    ok && assert "  disk_format qcow2, checksum = md5sum, virtual_size 64 MiB" eq \
        "$(jf "$OUT" 'd["disk_format"]')|$(field "$OUT" checksum)|$(field "$OUT" virtual_size)" "qcow2|$DISK_MD5|67108864"
check "image save cirros" sadm image save --file "$TMP/cirros.out" cirros
    ok && assert "  byte-identical" cmp "$F/disk.qcow2" "$TMP/cirros.out"
check "seeded instance: project create seedp-$SFX" sadm project create "seedp-$SFX" -f value -c id
check "seeded instance: user create seedu-$SFX" sadm user create --password "seed-pw-$SFX" --project "seedp-$SFX" "seedu-$SFX" -f value -c id
check "seeded instance: role add member" sadm role add --project "seedp-$SFX" --user "seedu-$SFX" member
# the 2G qcow2 rejected in step 5 passes under the default (2 TiB) virtual size cap
check "default cap: 2G qcow2 accepted" sadm image create --file "$F/big.qcow2" --disk-format qcow2 --container-format bare "big-$SFX" -f json
    ok && assert "  active, virtual_size 2 GiB" eq "$(jf "$OUT" '[d["status"], d.get("virtual_size")]')" '["active", 2147483648]'
AUTH_URL_SAVE=$AUTH_URL
AUTH_URL=$SBASE/identity/v3
check "non-admin user of another project sees public cirros" as_user "seedu-$SFX" "seed-pw-$SFX" "seedp-$SFX" image list -f json
    ok && assert "  cirros listed" in_list "$OUT" "$CIR_ID"
AUTH_URL=$AUTH_URL_SAVE
if stop_ciel "$SPID"; then pass "SIGTERM: seeded ciel exits"; else fail "SIGTERM: seeded ciel exits" "still running after 10 s"; fi
: >"$TMP/ciel-seed2.log"
start_ciel "$TMP/ciel-seed2.log" --data-dir "$SDATA" --listen "127.0.0.1:$SPORT" --image "cirros=$F/disk.qcow2"
SPID=$STARTED_PID
EXTRA_PIDS+=("$SPID")
check "restart on the same data dir with --image cirros=PATH" wait_ready "$SBASE" "$SPID"
if ok; then
    check "image list --long after restart" sadm image list --long -f json
        ok && assert "  still exactly one cirros, same id, active" eq "$(jf "$OUT" \
            "[(i['ID'], i['Status']) for i in d if i['Name']=='cirros']")" "[[\"$CIR_ID\", \"active\"]]"
else
    cat "$TMP/ciel-seed2.log"
fi
stop_ciel "$SPID" || true

# ------------------------------------------------------------------ summary --
finish
