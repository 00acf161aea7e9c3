-- ── wallet: a bid's hold change in one statement (issue 16, item 3) ──
-- A new leader's bid gives the previous leader's hold back and holds the new maximum. As
-- wallet.releaseHold + wallet.hold that was ten round trips inside the auction's row lock; this
-- function does the same work by the same rules in one. It is SECURITY INVOKER (the default): it
-- runs with the caller's table rights, and every guard of the ledger (balanced postings, cached
-- balances moved only by postings, no account below zero, append-only) still checks what it
-- writes. It writes nothing when it refuses: every check comes before the first write.
--
-- p_release: the hold to give back (NULL: none); p_user, p_amount, p_hold: the hold to place.
-- outcome: 'ok' | 'replayed' (p_hold was already placed with these terms; the release still ran
-- or was itself a replay) | 'insufficient' (available: what the user could hold) | 'mismatch'
-- (p_hold taken with other terms) | 'hold_not_found' | 'hold_not_active' (status: the hold's).
-- The caller serialises placers of one p_hold (bidding holds the auction's row lock); two
-- concurrent first placements of one reference would meet at the unique key and one would fail.
CREATE FUNCTION wallet_replace_hold(p_release text, p_user integer, p_amount integer, p_hold text)
RETURNS TABLE (outcome text, available bigint, status text, hold_tx integer, release_tx integer)
LANGUAGE plpgsql AS $$
DECLARE
  h_user integer;
  h_amount integer;
  h_status text;
  rel_pending boolean := false;
  replay boolean;
  prior_user integer;
  prior_amount bigint;
  rel_tx integer;
  new_tx integer;
  bal bigint;
  keys text[];
  kinds text[];
  users integer[];
  acc record;
  ids jsonb := '{}'::jsonb;
BEGIN
  IF p_amount IS NULL OR p_amount <= 0 OR p_user IS NULL OR p_hold IS NULL THEN
    RAISE EXCEPTION 'wallet_replace_hold: bad arguments' USING ERRCODE = '22023';
  END IF;
  -- The hold to release, locked first (as wallet.releaseHold does): a concurrent release of it waits here.
  IF p_release IS NOT NULL THEN
    SELECT wh.user_id, wh.amount, wh.status::text INTO h_user, h_amount, h_status
      FROM wallet_holds wh WHERE wh.reference = p_release FOR UPDATE;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'hold_not_found'::text, NULL::bigint, NULL::text, NULL::integer, NULL::integer;
      RETURN;
    END IF;
    -- Its release already committed (it is written under the lock above): a replay, nothing to give back.
    PERFORM 1 FROM ledger_transactions lt WHERE lt.kind = 'RELEASE' AND lt.reference = p_release;
    IF NOT FOUND THEN
      IF h_status <> 'HELD' THEN
        RETURN QUERY SELECT 'hold_not_active'::text, NULL::bigint, h_status, NULL::integer, NULL::integer;
        RETURN;
      END IF;
      rel_pending := true;
    END IF;
  END IF;

  -- The users' available and held accounts, created when missing, locked in ascending id order
  -- (the one order every wallet operation uses).
  keys := ARRAY['user:' || p_user || ':available', 'user:' || p_user || ':held'];
  kinds := ARRAY['USER_AVAILABLE', 'USER_HELD'];
  users := ARRAY[p_user, p_user];
  IF rel_pending AND h_user <> p_user THEN
    keys := keys || ARRAY['user:' || h_user || ':available', 'user:' || h_user || ':held'];
    kinds := kinds || ARRAY['USER_AVAILABLE', 'USER_HELD'];
    users := users || ARRAY[h_user, h_user];
  END IF;
  INSERT INTO wallet_accounts (key, kind, user_id)
  SELECT t.k, t.kd::"WalletAccountKind", t.u FROM unnest(keys, kinds, users) AS t(k, kd, u)
   WHERE NOT EXISTS (SELECT 1 FROM wallet_accounts w WHERE w.key = t.k)
   ORDER BY t.k
  ON CONFLICT (key) DO NOTHING;
  FOR acc IN SELECT w.id, w.key, w.balance FROM wallet_accounts w WHERE w.key = ANY(keys) ORDER BY w.id FOR UPDATE LOOP
    ids := ids || jsonb_build_object(acc.key, jsonb_build_array(acc.id, acc.balance));
  END LOOP;

  -- The hold's own replay: its reference already placed.
  SELECT lt.user_id, lt.amount INTO prior_user, prior_amount
    FROM ledger_transactions lt WHERE lt.kind = 'HOLD' AND lt.reference = p_hold;
  replay := FOUND;
  IF replay AND (prior_user IS DISTINCT FROM p_user OR prior_amount <> p_amount) THEN
    RETURN QUERY SELECT 'mismatch'::text, NULL::bigint, NULL::text, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  IF NOT replay THEN
    -- Available points, counting the hold that goes back first when it is the same user's (a raise).
    bal := (ids -> keys[1] ->> 1)::bigint + CASE WHEN rel_pending AND h_user = p_user THEN h_amount ELSE 0 END;
    IF bal < p_amount THEN
      RETURN QUERY SELECT 'insufficient'::text, bal, NULL::text, NULL::integer, NULL::integer;
      RETURN;
    END IF;
  END IF;

  -- The writes, as releaseHold then hold make them: one posting statement per ledger transaction,
  -- its legs in account id order; the release's before the hold's (a raise's available account
  -- receives the old maximum before it gives the new one, so it never dips below zero).
  IF rel_pending THEN
    INSERT INTO ledger_transactions (kind, reference, user_id, amount, metadata)
    VALUES ('RELEASE', p_release, h_user, h_amount, '{}'::jsonb) RETURNING id INTO rel_tx;
    UPDATE wallet_holds SET status = 'RELEASED', updated_at = now() WHERE reference = p_release;
    INSERT INTO ledger_entries (transaction_id, account_id, amount)
    SELECT rel_tx, x.account_id, x.amount FROM (VALUES
      ((ids -> ('user:' || h_user || ':held') ->> 0)::integer, -h_amount::bigint),
      ((ids -> ('user:' || h_user || ':available') ->> 0)::integer, h_amount::bigint)) AS x(account_id, amount)
     ORDER BY x.account_id;
  END IF;
  IF replay THEN
    RETURN QUERY SELECT 'replayed'::text, NULL::bigint, NULL::text, NULL::integer, rel_tx;
    RETURN;
  END IF;
  INSERT INTO ledger_transactions (kind, reference, user_id, amount, metadata)
  VALUES ('HOLD', p_hold, p_user, p_amount, '{}'::jsonb) RETURNING id INTO new_tx;
  INSERT INTO wallet_holds (reference, user_id, amount) VALUES (p_hold, p_user, p_amount);
  INSERT INTO ledger_entries (transaction_id, account_id, amount)
  SELECT new_tx, x.account_id, x.amount FROM (VALUES
    ((ids -> keys[1] ->> 0)::integer, -p_amount::bigint),
    ((ids -> keys[2] ->> 0)::integer, p_amount::bigint)) AS x(account_id, amount)
   ORDER BY x.account_id;
  RETURN QUERY SELECT 'ok'::text, bal - p_amount, NULL::text, new_tx, rel_tx;
END $$;
