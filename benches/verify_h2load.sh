#!/usr/bin/env bash
# VerifyCard over TLS, driven by h2load, beside raw Ed25519 verification measured in the same
# run (PERFORMANCE.md). The gateway is pinned to core 0 and h2load to core 1.
#
#   benches/verify_h2load.sh [RUNS]        (default 5 runs; medians at the end)
#   SIGNING_ALGORITHM=SM2 benches/verify_h2load.sh [RUNS]
#                                          (SM2 cards, beside raw SM2 verification instead)
#
# Per run: raw verify/s (ed25519-dalek verify_strict, one core, measured before and after
# the loads and averaged), VerifyCard req/s of a valid own card (closed loop, -m64), the
# ratio of the two, req/s of the same card expired and of garbage ("not a token"),
# VerifyCards credentials/s (256 valid credentials per call), and p50/p99 latency of the
# valid card at one request in flight. Then an honest caller's VerifyCard throughput alone
# and beside another caller sending 1,000 bad-signature calls a second (150 on an SM2 gateway;
# interleaved, medians; at least 0.92 of alone, issue 13). h2load cannot see grpc-status, so every load is
# checked: each frame once under load with exact counts (every call succeeded, exactly the
# data bytes of one verdict per response -- a gRPC error carries none -- and one audit record
# of the expected verdict per credential in the gateway's database), each verdict once with
# the gateway's own client, and every timed load for whole verdicts only; at the end the
# audit log must hold one record per verdict answered, none dropped. Refusals that name no
# card (garbage, bad signatures) are counted per caller, reason and minute instead of a
# record each: their counts are checked after the gateway stops.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
secs=5
alg=${SIGNING_ALGORITHM:-EdDSA}
# The attacking caller's rate: 1,000 calls a second of Ed25519 (issue 13), or the same share of
# a core in SM2 verifies (one costs about 6.4 Ed25519 ones: benches/sm2_sign_verify.rs).
case $alg in
  EdDSA) raw_flag=() attack_rps=1000 ;;
  SM2) raw_flag=(--sm2) attack_rps=150 ;;
  *) echo "SIGNING_ALGORITHM must be EdDSA or SM2"; exit 1 ;;
esac

if ! command -v h2load >/dev/null || ! command -v sqlite3 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nghttp2-client sqlite3 >/dev/null
fi
# Other work on the machine skews every figure: say so.
idle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
read -r i1 t1 < <(idle)
sleep 1
read -r i2 t2 < <(idle)
if [ $(((i2 - i1) * 100 / (t2 - t1 + 1))) -lt 90 ]; then
  echo "WARNING: the machine is busy ($(((i2 - i1) * 100 / (t2 - t1 + 1)))% idle); figures will be low" >&2
fi
cargo build --release --quiet
bench_exe() { # the executable of a harness-less bench target
  cargo bench --quiet --no-run --bench "$1" --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1"
}
raw_verify=$(bench_exe raw_verify)
expired_token=$(bench_exe expired_token)
bin=target/release/talent-gateway

tmp=$(mktemp -d)
data=$tmp/data
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# h2load is one public caller at tens of thousands of calls a second: a limit no load here
# reaches, so the limiter's cost is in the figures but it never refuses.
printf 'signing_algorithm = "%s"\n[rate_limits]\npublic_per_second = 1000000000\npublic_burst = 1000000000\n' \
  "$alg" >"$tmp/gateway.toml"
# Port 0: the gateway binds a free loopback port and prints it.
taskset -c 0 "$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --config "$tmp/gateway.toml" \
  >"$tmp/server.log" 2>&1 &
server=$!
addr=
for _ in $(seq 300); do
  addr=$(sed -n 's/^listening on //p' "$tmp/server.log")
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "gateway did not start"; cat "$tmp/server.log"; exit 1; }
certs=$data/certs
client=(--addr "$addr" --ca "$certs/ca.pem")

token=$("$bin" card issue "${client[@]}" --cert "$certs/operator.pem" --key "$certs/operator.key" \
  --name 张三 --id-number 34052419800101001X --tier C | awk '$1 == "qr_payload" {print $2}')
token=${token#NCTC1:}
[ -n "$token" ] || { echo "card issue printed no qr_payload"; exit 1; }
expired=$("$expired_token" "$data" "$token")
garbage="not a token"
# The valid card with its signature spoiled (its first character changed).
sig=${token##*.}
badsig="${token%.*}.$([ "${sig:0:1}" = A ] && echo B || echo A)${sig:1}"
reason_of() { "$bin" verify "${client[@]}" --public "$1" | awk '$1 == "reason" {print $2}'; }
for pair in "$token:OK" "$expired:EXPIRED" "$garbage:MALFORMED" "$badsig:BAD_SIGNATURE"; do
  got=$(reason_of "${pair%:*}")
  [ "$got" = "${pair##*:}" ] || { echo "verdict ${got:-none}, expected ${pair##*:}"; exit 1; }
done

python3 - "$tmp" "$token" "$expired" "$garbage" "$badsig" <<'PY'
import sys
tmp, token, expired, garbage, badsig = sys.argv[1:]
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out
def field(tag, payload):  # a length-delimited field
    return bytes([tag]) + varint(len(payload)) + payload
def request(credential):  # VerifyCardRequest{credential = 1}
    return field(0x0A, credential.encode())
def frame(msg):  # uncompressed gRPC frame
    return b"\x00" + len(msg).to_bytes(4, "big") + msg
for name, cred in [("valid", token), ("expired", expired), ("garbage", garbage),
                   ("badsig", badsig)]:
    open(f"{tmp}/{name}.bin", "wb").write(frame(request(cred)))
# VerifyCardsRequest{requests = 1 (repeated VerifyCardRequest)}: 256 valid credentials
batch = b"".join(field(0x0A, request(token)) for _ in range(256))
open(f"{tmp}/batch.bin", "wb").write(frame(batch))
PY

base=https://$addr/talentcard.v1.Verification
h2() { # h2() FRAME RPC ARGS...: runs h2load on core 1, output in $tmp/h2.out
  local f=$1 rpc=$2
  shift 2
  taskset -c 1 h2load -t1 -c1 -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$tmp/$f.bin" "$@" "$base/$rpc" >"$tmp/h2.out" 2>&1 || { cat "$tmp/h2.out"; exit 1; }
}
h2_field() { # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
  awk -v want="$1" '/^requests:/ {for (i = 2; i < NF; i++) if ($(i + 1) ~ "^" want) print $i}' "$tmp/h2.out"
}
h2_data() { # data bytes of all responses: "traffic: ... 1.15KB (1174) data"
  awk '/^traffic:/ {for (i = 2; i <= NF; i++) if ($i ~ /^data/) {gsub(/[()]/, "", $(i - 1)); print $(i - 1)}}' \
    "$tmp/h2.out"
}
audited() { # audited REASON: card.verify audit records with that result so far
  sqlite3 "$data/talent-gateway.db" \
    "SELECT count(*) FROM audit_log WHERE event = 'card.verify' AND result = '$1'"
}
audited_all() { sqlite3 "$data/talent-gateway.db" "SELECT count(*) FROM audit_log WHERE event = 'card.verify'"; }
tallied() { # tallied REASON: refusals counted in card.verify.tally records (the count leads the detail)
  sqlite3 "$data/talent-gateway.db" \
    "SELECT coalesce(sum(CAST(detail AS INTEGER)), 0) FROM audit_log WHERE event = 'card.verify.tally' AND result = '$1'"
}
settled() { # settled N: card.verify records once the log holds N of them and stopped growing
  local n last=-1
  for _ in $(seq 100); do
    n=$(audited_all)
    [ "$n" -ge "$1" ] && [ "$n" -eq "$last" ] && break
    last=$n
    sleep 0.3
  done
  echo "$n"
}
# Exact check of each frame under load, without a warm-up so that every call is counted:
# every call succeeded, every response carries the same verdict bytes as a single call,
# and the gateway audited exactly one verdict of the expected kind per credential.
declare -A bytes_of
for spec in valid:VerifyCard:OK:1 expired:VerifyCard:EXPIRED:1 garbage:VerifyCard:MALFORMED:0 \
  badsig:VerifyCard:BAD_SIGNATURE:0 batch:VerifyCards:OK:256; do
  IFS=: read -r f rpc reason per <<<"$spec"
  h2 "$f" "$rpc" -n1 -m1
  bytes_of[$f]=$(h2_data)
  [ "${bytes_of[$f]}" -gt 0 ] || { echo "$f: empty response"; cat "$tmp/h2.out"; exit 1; }
  n=$([ "$f" = batch ] && echo 40 || echo 2000)
  # Tallied refusals (per 0): no record each; their counts are checked at the end.
  [ "$per" -eq 0 ] && echo $((n + 1)) >>"$tmp/tallied.$reason"
  before_all=$(settled 0) before=$(audited "$reason")
  h2 "$f" "$rpc" -n"$n" -m"$([ "$f" = batch ] && echo 4 || echo 64)"
  after_all=$(settled $((before_all + n * per))) after=$(audited "$reason")
  if [ "$(h2_field succeeded)" -ne "$n" ] || [ "$(h2_data)" -ne $((n * ${bytes_of[$f]})) ] ||
    [ $((after - before)) -ne $((n * per)) ] || [ $((after_all - before_all)) -ne $((n * per)) ]; then
    echo "$f: $(h2_field succeeded) of $n succeeded, $(h2_data) data bytes" \
      "(${bytes_of[$f]} per response), $((after - before)) $reason audited of" \
      "$((after_all - before_all))" >&2
    cat "$tmp/h2.out" >&2
    exit 1
  fi
done
load() { # load FRAME RPC STREAMS [ARGS]: prints req/s after checking the responses
  local f=$1 rpc=$2 m=$3
  shift 3
  h2 "$f" "$rpc" -m"$m" -D"$secs" --warm-up-time 1 "$@"
  local done ok bad rps data
  done=$(h2_field done) ok=$(h2_field succeeded) bad=$(($(h2_field failed) + $(h2_field errored)))
  data=$(h2_data)
  rps=$(awk '/^finished in/ {print $4}' "$tmp/h2.out")
  # h2load's data bytes include its warm-up, its call counts do not: every response must
  # still be one whole verdict, and at least one per call counted. A response of many DATA
  # frames (the batch) may be cut off part-way when the duration ends: only single-frame
  # responses must add up exactly.
  local partial=0
  [ "${bytes_of[$f]}" -le 16384 ] && partial=$((data % ${bytes_of[$f]}))
  if [ "$done" -eq 0 ] || [ "$ok" -ne "$done" ] || [ "$bad" -ne 0 ] ||
    [ "$partial" -ne 0 ] || [ $((data / ${bytes_of[$f]})) -lt "$done" ]; then
    echo "$f: $done done, $ok succeeded, $bad failed, $data data bytes" \
      "(${bytes_of[$f]} per response)" >&2
    cat "$tmp/h2.out" >&2
    exit 1
  fi
  local answered=$((data / ${bytes_of[$f]} * ($([ "$f" = batch ] && echo 256 || echo 1))))
  case $f in
    garbage) echo "$answered" >>"$tmp/tallied.MALFORMED" ;;
    badsig) echo "$answered" >>"$tmp/tallied.BAD_SIGNATURE" ;;
    *) echo "$answered" >>"$tmp/answered" ;;
  esac
  echo "$rps"
}
raw_rate() { taskset -c 0 "$raw_verify" "${raw_flag[@]}" "$siglen" 3; }
input=${token%.*} # the signing input: header.payload
siglen=${#input}
baseline=$(settled 0)

# An honest caller beside one that sends $attack_rps bad-signature calls a second: the bad ones
# are its own cost (checked alone), not the honest caller's (batched). Interleaved pairs,
# in alternating order (the audit log grows with every valid verdict, and the gateway
# shares its core with the audit writer: a later load runs a little slower), measured
# before the main table while the log is small.
attack() { # attack FRAME: on core 1 beside the honest h2load, $attack_rps calls a second for
  # the honest load's duration and a margin
  taskset -c 1 h2load -t1 -c1 -m16 --rps "$attack_rps" -D$((secs + 2)) -H 'content-type: application/grpc' \
    -H 'te: trailers' -d "$tmp/$1.bin" "$base/VerifyCard" >"$tmp/attack.out" 2>&1
}
: >"$tmp/beside"
beside_load() { # beside_load FRAME: the honest load beside $attack_rps calls/s of FRAME
  attack "$1" &
  attacker=$!
  sleep 0.5
  load valid VerifyCard 64
  wait "$attacker"
}
# Both h2load processes share core 1, so when the gateway is not saturated the attacking
# client slows the honest client itself. The gateway's side is what the attack must not
# take: honest verdicts per second of the gateway's CPU time (/proc/PID/stat), alone and
# beside, the attack's own work included in the latter.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
per_cpu() { # per_cpu COMMAND...: runs a load, prints "req/s verdicts-per-CPU-second"
  local c0 c1 rps
  c0=$(cpu_ticks)
  rps=$("$@")
  c1=$(cpu_ticks)
  echo "$rps $(tail -1 "$tmp/answered") $((c1 - c0))" |
    awk -v hz="$(getconf CLK_TCK)" '{printf "%s %.0f\n", $1, $2 / ($3 / hz)}'
}
for r in $(seq "$runs"); do
  if [ $((r % 2)) -eq 1 ]; then
    read -r alone alone_cpu < <(per_cpu load valid VerifyCard 64)
    read -r beside beside_cpu < <(per_cpu beside_load badsig)
    sent=$(awk '/^requests:/ {print $8}' "$tmp/attack.out")
    read -r control control_cpu < <(per_cpu beside_load valid)
  else
    read -r control control_cpu < <(per_cpu beside_load valid)
    read -r beside beside_cpu < <(per_cpu beside_load badsig)
    sent=$(awk '/^requests:/ {print $8}' "$tmp/attack.out")
    read -r alone alone_cpu < <(per_cpu load valid VerifyCard 64)
  fi
  echo "$sent" >>"$tmp/tallied.BAD_SIGNATURE"
  echo "$alone $beside $sent $alone_cpu $beside_cpu $control $control_cpu" | tee -a "$tmp/beside" |
    awk '{printf "honest alone %.0f/s, beside %d bad-signature calls in %ds: %.0f/s (%.3f), " \
      "beside as many valid calls: %.0f/s (%.3f); honest verdicts per gateway CPU-second " \
      "%.0f alone, %.0f beside bad signatures (%.3f), %.0f beside valid calls (%.3f)\n",
      $1, $3, '"$secs"' + 2, $2, $2 / $1, $6, $6 / $1, $4, $5, $5 / $4, $7, $7 / $4}'
done
python3 - "$tmp/beside" "$attack_rps" <<'PY'
import statistics, sys
rps = int(sys.argv[2])
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1])]
client = statistics.median(r[1] / r[0] for r in rows)
control = statistics.median(r[5] / r[0] for r in rows)
cpu = statistics.median(r[4] / r[3] for r in rows)
cpu_control = statistics.median(r[6] / r[3] for r in rows)
print(f"honest VerifyCard beside {rps:,} bad-signature calls/s: median {client:.3f} of its "
      f"throughput alone (at least 0.92); beside {rps:,} valid calls/s from another connection "
      f"(the control): {control:.3f}. Honest verdicts per gateway CPU-second: {cpu:.3f} beside "
      f"bad signatures, {cpu_control:.3f} beside valid calls")
if client < 0.92:
    print("FAIL: another caller's bad signatures cost the honest caller more than 8%")
    open(sys.argv[1] + ".failed", "w").write("beside")
PY

printf '%-4s %9s %9s %6s %9s %9s %11s %7s %7s\n' \
  run raw/s valid/s ratio expired/s garbage/s batch_cred/s p50_us p99_us | tee "$tmp/table"
for r in $(seq "$runs"); do
  raw1=$(raw_rate)
  valid=$(load valid VerifyCard 64)
  expd=$(load expired VerifyCard 64)
  garb=$(load garbage VerifyCard 64)
  batch=$(load batch VerifyCards 4)
  rm -f "$tmp/lat.log"
  load valid VerifyCard 1 --log-file="$tmp/lat.log" >/dev/null
  read -r p50 p99 < <(awk '{print $3}' "$tmp/lat.log" | sort -n |
    awk '{a[NR] = $1} END {print a[int(NR * 0.50 + 0.5)], a[int(NR * 0.99 + 0.5)]}')
  raw2=$(raw_rate)
  read -r raw ratio batch_cred < <(python3 -c "
raw = ($raw1 + $raw2) / 2
print(f'{raw:.0f} {$valid / raw:.3f} {$batch * 256:.0f}')")
  printf '%-4s %9s %9.0f %6s %9.0f %9.0f %11s %7s %7s\n' \
    "$r" "$raw" "$valid" "$ratio" "$expd" "$garb" "$batch_cred" "$p50" "$p99" | tee -a "$tmp/table"
done
python3 - "$tmp/table" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
head, body = rows[0], rows[1:]
med = [f"{statistics.median(float(r[i]) for r in body):.{3 if head[i] == 'ratio' else 0}f}"
       for i in range(1, len(head))]
print(("%-4s %9s %9s %6s %9s %9s %11s %7s %7s") % ("med", *med))
PY

# The timed loads, counted from the gateway's side: one audit record per verdict answered
# (warm-ups included), none dropped.
answered=$(awk '{n += $1} END {print n}' "$tmp/answered")
audited_now=$(settled $((baseline + answered)))
echo "verdicts answered in the timed loads: $answered; audited: $((audited_now - baseline))"
# h2load stops counting when its duration ends, while the gateway still answers (and
# audits) the calls in flight: more records than counted answers is expected, fewer is not.
if [ $((audited_now - baseline)) -lt "$answered" ] || grep -q "audit queue full" "$tmp/server.log"; then
  echo "WARNING: fewer audit records than verdicts answered (or records were dropped)" >&2
fi
echo "response bytes: valid ${bytes_of[valid]}, expired ${bytes_of[expired]}," \
  "garbage ${bytes_of[garbage]}, batch ${bytes_of[batch]}"
# Refusals that name no card are counted, and the counts are written at the latest at a stop.
kill -TERM "$server" && wait "$server" 2>/dev/null || true
server=
for reason in MALFORMED BAD_SIGNATURE; do
  want=$(awk '{n += $1} END {print n + 0}' "$tmp/tallied.$reason")
  got=$(tallied "$reason")
  records=$(sqlite3 "$data/talent-gateway.db" \
    "SELECT count(*) FROM audit_log WHERE event = 'card.verify.tally' AND result = '$reason'")
  echo "$reason refusals answered (at least): $want; counted: $got in $records audit records"
  [ "$got" -ge "$want" ] || echo "WARNING: fewer $reason refusals counted than answered" >&2
done
if [ -e "$tmp/beside.failed" ]; then exit 1; fi
