# shellcheck shell=bash
# Rehearsal checks that need the real DAPANDA app (accounts, catalog, wallet, bidding, WebSocket topics).
# Each function returns 0 (pass), 1 (fail) or 77 (skip). They run with the helpers of run.sh (in_ns, LB,
# CA, ADDR, R, say) and only when --app release. Clients come from extra addresses of the client namespace
# ($NET.101-160), as many shoppers do: the app's per-IP rate limits see each one apart.

app_psql() { # SQL: as the postgres superuser on the data node
  in_ns data runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h "$R/data/pgsock" -d "$DAPANDA_DB_NAME" -c "$1"
}
client_ips() { # FROM TO: adds 10.77.0.FROM..TO to the client namespace (idempotent), prints them comma-separated
  local i out=()
  for ((i = $1; i <= $2; i++)); do
    in_ns client ip addr add "$NET.$i/24" dev eth0 2>/dev/null || true
    out+=("$NET.$i")
  done
  (IFS=,; echo "${out[*]}")
}
shopper() { # SECONDS ARGS...: test/ops/rehearsal/shopper.mjs in the client namespace against nginx, bounded
  local limit=$1; shift
  timeout "$limit" ip netns exec "${NS_PREFIX}client" node "$REPO/test/ops/rehearsal/shopper.mjs" "$@" \
    --url "https://$LB" --ca "$CA" --servername "$DAPANDA_DOMAIN" --mail-dirs "$R/app1/mail,$R/app2/mail"
}

# Shopper journey through nginx over HTTPS: a seller signs up (confirming the address with the link the
# app node's worker mailed: DAPANDA_MAIL_DIR, one folder per node) and lists an item with a photo; a shopper
# signs up, logs out and in, tops up 200,000 with the test card through the wallet form, opens the item
# (and its photo), a watcher subscribes to the auction over wss://…/ws and sees the shopper's bid pushed.
check_shopper_journey() {
  local out
  out=$(shopper 90 journey --ips "$(client_ips 101 103)" 2>&1) || { say "  journey failed: $out"; return 1; }
  say "  journey: $out"
  local item bids
  item=$(jq -r .item <<<"$out")
  bids=$(app_psql "select count(*) from bids where auction_id = $item")
  say "  item $item: $bids bid row(s) in PostgreSQL"
  [[ $(jq -r '.pushed and .photo' <<<"$out") == true && $bids == 1 ]]
}

# Bidding storm: 12 funded bidders bid the minimum through nginx on a short auction for 20 s while 8
# watchers stay subscribed; at 6 s app1 (web and worker) is SIGKILLed. Then: every bid answered 200 is in
# the bids table, the auction closed exactly once (one winner hold of the final price, no bid after the
# close, the ledger sums to zero), and watchers that were on app1 reconnected through app2 and saw the end.
check_bidding_storm_failover() {
  local seller item out=$R/storm.out rc=0 spid waited=0
  seller=$(app_psql "select id from users order by id limit 1")
  [[ -n $seller ]] || { say "  no user to sell the storm's item (the journey signs the first ones up)"; return 1; }
  # A listing as the catalog stores it, ending 25 s from now; bidding's sweeper opens its auction.
  item=$(app_psql "insert into listings (seller_id, title, description, category_id, condition, start_price, starts_at, ends_at, duration_days, status, current_price, updated_at)
    select $seller, '리허설 폭풍 경매', '리허설', (select id from categories where parent_id is not null order by id limit 1), 'GOOD', 10000, now(), now() + interval '25 seconds', 1, 'LIVE', 10000, now() returning id" | head -1)
  [[ $item =~ ^[0-9]+$ ]] || { say "  could not insert the storm's listing: $item"; return 1; }
  until [[ $(app_psql "select status from auctions where id = $item") == LIVE ]]; do
    ((waited++ < 60)) || { say "  auction $item was not opened by the sweeper"; return 1; }
    sleep 0.5
  done
  say "  auction $item opened by the sweeper after ~$((waited / 2))s"
  shopper 150 storm --item "$item" --seconds 20 --bidders 12 --watchers 8 --kill-after 6 --ips "$(client_ips 110 160)" \
    >"$out" 2>"$R/storm.err" &
  spid=$!
  for ((waited = 0; waited < 900; waited++)); do grep -q '^kill$' "$out" 2>/dev/null && break; sleep 0.1; done
  for unit in dapanda-web dapanda-worker; do kill -9 "$(cat "$R/app1/run/$unit.service.pid")" 2>/dev/null || true; done
  say "  SIGKILLed app1 (web + worker) mid-storm"
  wait "$spid" || rc=$?
  ((rc == 0)) || { say "  storm driver failed ($rc): $(tail -5 "$R/storm.err")"; return 1; }
  tail -n 1 "$out" >"$R/storm.json"
  say "  storm: $(jq -c '{requests, status, errors, accepted: (.accepted | length), maxAccepted, seconds}' "$R/storm.json")"

  # The auction ends once the storm is over (soft close); the worker on app2 closes it.
  for ((waited = 0; waited < 60; waited++)); do [[ $(app_psql "select status from auctions where id = $item") == ENDED ]] && break; sleep 1; done
  local values lost rows final winners won_holds after_close ledger
  values=$(jq -r '[.accepted[] | "(\u0027\(.bidder)\u0027,\(.amount))"] | join(",")' "$R/storm.json")
  lost=$(app_psql "select count(*) from (values $values) a(email, amount) join users u on u.email = a.email
    where not exists (select 1 from bids b where b.auction_id = $item and b.bidder_id = u.id and b.max_amount = a.amount)")
  rows=$(app_psql "select count(*) from bids where auction_id = $item")
  final=$(app_psql "select status || ' ' || coalesce(outcome::text, '-') || ' price=' || current_price || ' winner=' || coalesce(winner_id::text, '-') || ' bids=' || bid_count from auctions where id = $item")
  winners=$(app_psql "select count(distinct winner_id) from auctions where id = $item and winner_id is not null")
  won_holds=$(app_psql "select count(*) || ':' || coalesce(sum(amount), 0) from wallet_holds where reference = 'auction:$item:won'")
  after_close=$(app_psql "select count(*) from bids b join auctions a on a.id = b.auction_id where a.id = $item and b.created_at > a.closed_at")
  ledger=$(app_psql "select coalesce(sum(amount), 0) from ledger_entries")
  say "  accepted answers not in PostgreSQL: $lost of $(jq '.accepted | length' "$R/storm.json"); bid rows: $rows; auction: $final"
  say "  winner holds (count:amount): $won_holds; bids after close: $after_close; ledger sum: $ledger"
  say "  watchers (connects, pushes, last price): $(jq -c '[.watchers[] | [.connects, .prices, .last]]' "$R/storm.json")"
  if ! { node_exec app1 x restart && node_exec app1 x wait-ready 30; } 2>/dev/null; then say "  app1 did not come back"; fi
  local price moved
  price=$(app_psql "select current_price from auctions where id = $item")
  # Watchers on app1 lost their socket and reconnected (app2 was the only node up until the storm ended),
  # and every watcher saw the final price. In-flight POSTs cut by the SIGKILL may get a 502 (nginx never
  # replays a POST): not "accepted", so not counted; they are reported above.
  moved=$(jq '[.watchers[] | select(.connects >= 2)] | length > 0' "$R/storm.json")
  [[ $lost == 0 && $(jq '.accepted | length' "$R/storm.json") -gt 20 && $final == "ENDED SOLD"* && $winners == 1 &&
    $won_holds == "1:$price" && $after_close == 0 && $ledger == 0 && $moved == true &&
    $(jq --argjson p "$price" '[.watchers[].last] | all(. == $p)' "$R/storm.json") == true ]]
}
