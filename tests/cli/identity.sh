#!/usr/bin/env bash
# End-to-end acceptance test of Ciel identity (Keystone v3), driven by the real
# `openstack` CLI (python-openstackclient) plus curl for exact HTTP checks.
#
# Usage: tests/cli/identity.sh
#   CIEL_BIN         ciel binary            (default: <repo>/target/release/ciel)
#   CIEL_TEST_CACHE  holds venv/ with python-openstackclient (default: ~/.cache/ciel-test)
#   KEEP_TMP=1       keep the temp dir (data dirs, logs) for inspection
#
# Prints PASS/FAIL per check and a summary; exits non-zero if any check failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CIEL_BIN=${CIEL_BIN:-$REPO/target/release/ciel}
VENV=${CIEL_TEST_CACHE:-$HOME/.cache/ciel-test}/venv
OPENSTACK=$VENV/bin/openstack
PY=python3

[[ -x $OPENSTACK ]] || { echo "openstack CLI not found at $OPENSTACK" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

CIEL_TEST_NAME=cli-test
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"
nonempty() { [[ -n $1 ]] || { echo "empty value"; return 1; }; }

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ID=$BASE/identity
AUTH_URL=$ID/v3
ADMIN_PW="Adm1n-$RANDOM$RANDOM"
SFX=$RANDOM
PA=cli-a-$SFX          # project A (== P)
PB=cli-b-$SFX          # project B
UU=cli-u-$SFX          # user U, member of A
UV=cli-v-$SFX          # user V, member of B
UW=cli-w-$SFX          # user W, target of wrong-password checks
PW_U1="u-pw-1-$SFX"
PW_U2="u-pw-2-$SFX"
PW_V="v-pw-$SFX"
PW_W="w-pw-$SFX"

echo "ciel: $CIEL_BIN  port: $PORT  tmp: $TMP"

# ------------------------------------------------------------------ step 1 --
step "1. start ciel, client files, admin token"
start_ciel "$LOG" --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PW"
CIEL_PID=$STARTED_PID
check "ciel up answers 200 on /identity/v3" wait_ready "$BASE" "$CIEL_PID"
ok || { cat "$LOG"; abort "ciel did not start"; }
for f in clouds.yaml admin-openrc; do
    assert "$f exists" test -f "$DATA/$f"
        ok && assert "$f has mode 600" eq "$(stat -c %a "$DATA/$f")" 600
done
check "clouds.yaml: token issue (OS_CLOUD=ciel)" adm token issue -f json
    ok && assert "  token has an id" nonempty "$(jf "$OUT" 'd["id"]')"
check "admin-openrc: token issue" bash -c 'set +u; . "$1/admin-openrc"; "$2" token issue -f value -c id' _ "$DATA" "$OPENSTACK"
    ok && assert "  token id printed" nonempty "$OUT"

# admin token for curl checks
auth_http "$ID" admin "$ADMIN_PW" admin
ADMIN_TOKEN=$TOKEN
assert "curl: admin password auth -> 201 with X-Subject-Token" code_is 201
nonempty "$ADMIN_TOKEN" >/dev/null || abort "no admin token"

# ------------------------------------------------------------------ step 2 --
step "2. catalog"
check "catalog list" adm catalog list -f json
    ok && assert "  catalog contains type identity" eq "$(jf "$OUT" '"identity" in [s["Type"] for s in d]')" True

# ------------------------------------------------------------------ step 3 --
step "3. projects"
PA_ID=""
check "project create $PA" adm project create "$PA" --description "first desc" -f json
    ok && PA_ID=$(jf "$OUT" 'd["id"]') || true
    ok && assert "  description/enabled as created" eq "$(jf "$OUT" '[d["description"], d["enabled"]]')" '["first desc", true]'
check "project list" adm project list -f value -c Name
    ok && assert "  list contains $PA" contains "$OUT" "$PA"
check "project show" adm project show "$PA" -f json
    ok && assert "  show has same id" eq "$(jf "$OUT" 'd["id"]')" "$PA_ID"
check "project set --description" adm project set --description "second desc" "$PA"
    ok && assert "  show: description changed" eq "$(adm project show "$PA" -f value -c description)" "second desc"
check "project set --disable" adm project set --disable "$PA"
    ok && assert "  show: enabled False" eq "$(adm project show "$PA" -f value -c enabled)" False
check "project set --enable" adm project set --enable "$PA"
    ok && assert "  show: enabled True" eq "$(adm project show "$PA" -f value -c enabled)" True
PD=cli-del-$SFX
check "project create $PD (to delete)" adm project create "$PD" -f value -c id
PD_ID=$OUT
check "project delete $PD" adm project delete "$PD"
http GET "$BASE/identity/v3/projects/$PD_ID" -H "X-Auth-Token: $ADMIN_TOKEN"
assert "  deleted project: GET -> 404" code_is 404
expect_fail "  deleted project: project show fails" adm project show "$PD"

# ------------------------------------------------------------------ step 4 --
step "4. users"
UU_ID=""
check "user create $UU --project $PA" adm user create --password "$PW_U1" --project "$PA" "$UU" -f json
    ok && UU_ID=$(jf "$OUT" 'd["id"]') || true
    ok && assert "  default_project_id is A" eq "$(jf "$OUT" 'd.get("default_project_id")')" "$PA_ID"
check "user list" adm user list -f value -c Name
    ok && assert "  list contains $UU" contains "$OUT" "$UU"
check "user set --email" adm user set --email "$UU@example.org" "$UU"
check "user show" adm user show "$UU" -f json
    ok && assert "  show reflects email" eq "$(jf "$OUT" 'd.get("email")')" "$UU@example.org"

# ------------------------------------------------------------------ step 5 --
step "5. role assignment"
check "role add --project $PA --user $UU member" adm role add --project "$PA" --user "$UU" member
check "role assignment list --names" adm role assignment list --names --project "$PA" -f json
    ok && assert "  shows member | $UU@Default | | $PA@Default" eq "$(jf "$OUT" \
        "[(a['Role'],a['User'],a['Group'],a['Project']) for a in d if a['User']=='$UU@Default']")" \
        "[[\"member\", \"$UU@Default\", \"\", \"$PA@Default\"]]"
check "role assignment list --names (table)" adm role assignment list --names --project "$PA" -f table
    ok && assert "  table row: member | $UU@Default | | $PA@Default" \
        grep -qE "\| member +\| $UU@Default +\| +\| $PA@Default +\|" <<<"$OUT"

# ------------------------------------------------------------------ step 6 --
step "6. user U: token, application credential"
check "U: token issue (env vars)" as_user "$UU" "$PW_U1" "$PA" token issue -f json
    ok && assert "  U token scoped to A" eq "$(jf "$OUT" '[d["project_id"], d["user_id"]]')" "[\"$PA_ID\", \"$UU_ID\"]"
AC_ID=""
check "U: application credential create --secret s3cret appc" \
    as_user "$UU" "$PW_U1" "$PA" application credential create --secret s3cret appc -f json
    ok && AC_ID=$(jf "$OUT" 'd["ID"]') || true
    ok && assert "  app cred bound to A, secret echoed" eq "$(jf "$OUT" '[d["Project ID"], d["Secret"]]')" "[\"$PA_ID\", \"s3cret\"]"
    # osc sends "roles": [] when no --role is given; Keystone then delegates all the token's roles.
    ok && assert "  app cred delegates U's role on A (member)" eq "$(jf "$OUT" '"member" in str(d["Roles"])')" True
check "token issue with v3applicationcredential" osc --os-auth-url "$AUTH_URL" \
    --os-auth-type v3applicationcredential --os-application-credential-id "$AC_ID" \
    --os-application-credential-secret s3cret token issue -f json
    ok && assert "  app-cred token project is A" eq "$(jf "$OUT" 'd["project_id"]')" "$PA_ID"
expect_fail "app cred with wrong secret fails" osc --os-auth-url "$AUTH_URL" \
    --os-auth-type v3applicationcredential --os-application-credential-id "$AC_ID" \
    --os-application-credential-secret wrong token issue

# ------------------------------------------------------------------ step 7 --
step "7. wrong password"
# A dedicated user W, so these failures do not count towards U's lockout.
check "user create $UW" adm user create --password "$PW_W" --project "$PA" "$UW" -f value -c id
check "role add W member of A" adm role add --project "$PA" --user "$UW" member
expect_fail "CLI: token issue with wrong password fails" as_user "$UW" "not-the-password" "$PA" token issue
    ok && assert "  CLI reports HTTP 401" has_status 401 "$OUT$ERR"
auth_http "$ID" "$UW" "still-not-it" "$PA"
assert "curl: wrong password -> 401" code_is 401
assert "  body is {error:{code:401,title:Unauthorized,message:str}}" eq "$(jf "$HTTP_BODY" \
    '[sorted(d.keys()), d["error"]["code"], d["error"]["title"], isinstance(d["error"]["message"], str) and len(d["error"]["message"])>0]')" \
    '[["error"], 401, "Unauthorized", true]'
assert "  no X-Subject-Token on failure" eq "$TOKEN" ""

# ------------------------------------------------------------------ step 8 --
step "8. isolation between projects"
check "project create $PB" adm project create "$PB" -f value -c id
PB_ID=$OUT
check "user create $UV" adm user create --password "$PW_V" --project "$PB" "$UV" -f value -c id
UV_ID=$OUT
check "role add V member of B" adm role add --project "$PB" --user "$UV" member
expect_fail "V: project show A fails" as_user "$UV" "$PW_V" "$PB" project show "$PA_ID"
    ok && assert "  CLI reports HTTP 403" has_status 403 "$OUT$ERR"
    ok && assert "  output does not leak A's name" lacks "$OUT$ERR" "$PA"
expect_fail "V: project show A (by name) fails" as_user "$UV" "$PW_V" "$PB" project show "$PA"
# `openstack project list` gets 403 on GET /v3/projects and then falls back to
# GET /v3/users/{self}/projects, so the CLI succeeds listing only V's projects.
check "V: project list (CLI; falls back to own projects)" as_user "$UV" "$PW_V" "$PB" --debug project list -f value -c Name
    ok && assert "  GET /v3/projects answered 403" eq "$(debug_resp_after '/v3/projects -H' "$ERR")" 403
    ok && assert "  lists B only, not A" eq "$OUT" "$PB"
auth_http "$ID" "$UV" "$PW_V" "$PB"
V_TOKEN=$TOKEN
assert "curl: V token scoped to B" code_is 201
http GET "$BASE/identity/v3/projects" -H "X-Auth-Token: $V_TOKEN"
assert "curl: V GET /v3/projects -> 403" code_is 403
http GET "$BASE/identity/v3/projects/$PA_ID" -H "X-Auth-Token: $V_TOKEN"
assert "curl: V GET /v3/projects/{A} -> 403 or 404" eq "$([[ $HTTP_CODE == 403 || $HTTP_CODE == 404 ]] && echo yes || echo "$HTTP_CODE: $HTTP_BODY")" yes
assert "  response does not leak A's name" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$PA" "$HTTP_BODY"
http GET "$BASE/identity/v3/projects/$PB_ID" -H "X-Auth-Token: $V_TOKEN"
assert "curl: V GET /v3/projects/{B} (own project) -> 200" code_is 200
http GET "$BASE/identity/v3/role_assignments?scope.project.id=$PA_ID" -H "X-Auth-Token: $V_TOKEN"
assert "curl: V GET role_assignments of A -> 403" code_is 403
# openstacksdk (4.x) ignores a non-204 answer to the role PUT, so `openstack role add`
# exits 0 even when refused: assert the 403 on the wire and that nothing was granted.
_run as_user "$UV" "$PW_V" "$PB" --debug role add --project "$PB_ID" --user "$UV_ID" admin || true
assert "V: role add admin (CLI): PUT role answered 403" eq "$(debug_resp_after '-X PUT .*/roles/' "$ERR")" 403
check "  V still has only member on B" adm role assignment list --names --project "$PB" --user "$UV" -f value -c Role
    ok && assert "  (roles: member)" eq "$OUT" member
ADMIN_ROLE_ID=$(adm role show admin -f value -c id 2>/dev/null || true)
http PUT "$BASE/identity/v3/projects/$PB_ID/users/$UV_ID/roles/$ADMIN_ROLE_ID" -H "X-Auth-Token: $V_TOKEN"
assert "curl: V PUT role assignment -> 403" code_is 403

# ------------------------------------------------------------------ step 9 --
step "9. lockout (2 failures lock for 5 s)"
auth_http "$ID" "$UU" "wrong-1" "$PA"; assert "U wrong password #1 -> 401" code_is 401
auth_http "$ID" "$UU" "wrong-2" "$PA"; assert "U wrong password #2 -> 401" code_is 401
auth_http "$ID" "$UU" "$PW_U1" "$PA"
assert "U right password while locked -> 401" code_is 401
expect_fail "CLI: U token issue while locked fails" as_user "$UU" "$PW_U1" "$PA" token issue
sleep 6
auth_http "$ID" "$UU" "$PW_U1" "$PA"
assert "U right password after 6 s -> 201" code_is 201
check "CLI: U token issue after lockout" as_user "$UU" "$PW_U1" "$PA" token issue -f value -c id

# ----------------------------------------------------------------- step 10 --
step "10. self-service password change"
auth_http "$ID" "$UU" "$PW_U1" "$PA"
U_OLD_TOKEN=$TOKEN
check "U: user password set --original-password old --password new" \
    as_user "$UU" "$PW_U1" "$PA" user password set --original-password "$PW_U1" --password "$PW_U2"
http GET "$BASE/identity/v3/auth/tokens" -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $U_OLD_TOKEN"
assert "old U token rejected: GET /v3/auth/tokens -> 404" code_is 404
expect_fail "old password no longer works" as_user "$UU" "$PW_U1" "$PA" token issue
check "new password works" as_user "$UU" "$PW_U2" "$PA" token issue -f value -c id
expect_fail "CLI: changing back to the previous password is rejected" \
    as_user "$UU" "$PW_U2" "$PA" user password set --original-password "$PW_U2" --password "$PW_U1"
    ok && assert "  CLI reports HTTP 400" has_status 400 "$OUT$ERR"
    ok && assert "  message says the password was used before" contains "$OUT$ERR" "previous password"
auth_http "$ID" "$UU" "$PW_U2" "$PA"
U_TOKEN=$TOKEN
http POST "$BASE/identity/v3/users/$UU_ID/password" -H "X-Auth-Token: $U_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"user\":{\"original_password\":\"$PW_U2\",\"password\":\"$PW_U1\"}}"
assert "curl: reuse of previous password -> 400" code_is 400
assert "  still logs in with the new password" bash -c \
    'c=$(curl -s -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" -d "$2" "$1/v3/auth/tokens"); [[ $c == 201 ]] || { echo "got $c"; exit 1; }' \
    _ "$ID" "$(pw_body "$UU" "$PW_U2" "$PA")"

# ----------------------------------------------------------------- step 11 --
step "11. restart keeps data"
cp "$DATA/clouds.yaml" "$TMP/clouds.yaml.orig"
if stop_ciel "$CIEL_PID"; then pass "SIGTERM: ciel exits within 10 s"; else fail "SIGTERM: ciel exits within 10 s" "still running after 10 s"; fi
CIEL_PID=""
assert "  exit status 0" eq "$STOP_RC" 0
assert "  logs a shutdown line" grep -qiE 'shutting down|stopped|shutdown' "$LOG"
: >"$TMP/ciel2.log"
start_ciel "$TMP/ciel2.log" --data-dir "$DATA" --listen "127.0.0.1:$PORT"
CIEL_PID=$STARTED_PID
check "restart (no --admin-password) answers 200" wait_ready "$BASE" "$CIEL_PID"
ok || { cat "$TMP/ciel2.log"; abort "restart failed"; }
adm_orig() { OS_CLIENT_CONFIG_FILE=$TMP/clouds.yaml.orig OS_CLOUD=ciel "$OPENSTACK" "$@"; }
check "old clouds.yaml still works: token issue" adm_orig token issue -f value -c id
check "project A still exists" adm_orig project show "$PA" -f value -c id
    ok && assert "  same id" eq "$OUT" "$PA_ID"
check "user U still exists" adm_orig user show "$UU" -f json
    ok && assert "  same id and email" eq "$(jf "$OUT" '[d["id"], d.get("email")]')" "[\"$UU_ID\", \"$UU@example.org\"]"
check "U's new password survived the restart" as_user "$UU" "$PW_U2" "$PA" token issue -f value -c project_id
    ok && assert "  U token project is A" eq "$OUT" "$PA_ID"

# ----------------------------------------------------------------- step 12 --
step "12. config file"
CDATA=$TMP/cfgdata
CPORT=$(free_port)
cat >"$TMP/bad.toml" <<EOF
data_dir = "$CDATA"
listen = "127.0.0.1:$CPORT"
listen_port = 3
EOF
wait_for_binary
BAD_RC=0
timeout 15 "$CIEL_BIN" up --config "$TMP/bad.toml" >"$TMP/bad.out" 2>&1 || BAD_RC=$?
assert "unknown key: ciel up --config exits non-zero" bash -c '[[ $1 != 0 && $1 != 124 ]] || { echo "exit status $1"; cat "$2"; exit 1; }' _ "$BAD_RC" "$TMP/bad.out"
assert "  error names listen_port" grep -q listen_port "$TMP/bad.out"
CFG_PW="cfg-pw-$SFX"
cat >"$TMP/good.toml" <<EOF
data_dir = "$CDATA"
listen = "127.0.0.1:$CPORT"
admin_password = "$CFG_PW"

[identity]
lockout_failure_attempts = 5
EOF
start_ciel "$TMP/ciel-cfg.log" --config "$TMP/good.toml"
CFG_PID=$STARTED_PID
EXTRA_PIDS+=("$CFG_PID")
CBASE=http://127.0.0.1:$CPORT
check "valid config: ciel up --config answers 200" wait_ready "$CBASE" "$CFG_PID"
if ok; then
    assert "  data_dir from config has clouds.yaml" test -f "$CDATA/clouds.yaml"
    check "  admin_password from config works" \
        env OS_CLIENT_CONFIG_FILE="$CDATA/clouds.yaml" OS_CLOUD=ciel "$OPENSTACK" token issue -f value -c id
    auth_http "$CBASE/identity" admin "$CFG_PW" admin
    CADM=$TOKEN
    http POST "$CBASE/identity/v3/users" -H "X-Auth-Token: $CADM" -H 'Content-Type: application/json' \
        -d "{\"user\":{\"name\":\"lk-$SFX\",\"password\":\"lk-pw\",\"domain_id\":\"default\"}}"
    assert "  create a user for the lockout check" code_is 201
    for i in 1 2 3; do auth_http "$CBASE/identity" "lk-$SFX" "bad-$i"; done
    auth_http "$CBASE/identity" "lk-$SFX" lk-pw
    assert "  lockout_failure_attempts=5: 3 failures do not lock (201)" code_is 201
else
    cat "$TMP/ciel-cfg.log"
fi
stop_ciel "$CFG_PID" || true

# ----------------------------------------------------------------- step 13 --
step "13. key rotation"
auth_http "$ID" "$UU" "$PW_U2" "$PA"
PRE_TOKEN=$TOKEN
assert "pre-rotation token issued" code_is 201
wait_for_binary
check "ciel keys rotate --data-dir" "$CIEL_BIN" keys rotate --data-dir "$DATA"
http GET "$BASE/identity/v3/auth/tokens" -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $PRE_TOKEN"
assert "pre-rotation token still validates right after (200)" code_is 200
assert "  validated token is U's" eq "$(jf "$HTTP_BODY" 'd["token"]["user"]["id"]')" "$UU_ID"
check "new tokens are issued after rotation" as_user "$UU" "$PW_U2" "$PA" token issue -f value -c id

# ------------------------------------------------------------------ summary --
finish
