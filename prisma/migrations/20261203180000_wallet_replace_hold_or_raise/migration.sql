-- ── wallet: wallet_replace_hold that raises its refusals (issue 16) ──
-- Bidding's batch transaction (plain SQL, pipelined: core/db/sql.ts) sends the hold, the bid
-- rows, the listing's copy, the outbox rows and COMMIT as one round trip. A refusal must stop the
-- statements behind it, so this one raises where wallet_replace_hold returns the refusal as a
-- row: SQLSTATE DPW01 (a class of its own, so nothing else is mistaken for it), the outcome
-- ('insufficient' | 'mismatch' | 'hold_not_found' | 'hold_not_active') as the message, what the
-- caller shows in DETAIL (JSON: available, status). The function raises before it writes
-- anything (wallet_replace_hold checks before its first write), and the caller's transaction is
-- aborted, which is what it wants. Returns the HOLD ledger transaction's id, replayed or not.
CREATE FUNCTION wallet_replace_hold_or_raise(p_release text, p_user integer, p_amount integer, p_hold text)
RETURNS TABLE (hold_tx integer, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM wallet_replace_hold(p_release, p_user, p_amount, p_hold) AS w;
  IF r.outcome = 'ok' THEN
    RETURN QUERY SELECT r.hold_tx, false;
  ELSIF r.outcome = 'replayed' THEN
    RETURN QUERY SELECT t.id, true FROM ledger_transactions t WHERE t.kind = 'HOLD' AND t.reference = p_hold;
  ELSE
    RAISE EXCEPTION USING ERRCODE = 'DPW01', MESSAGE = r.outcome,
      DETAIL = json_build_object('available', r.available, 'status', r.status)::text;
  END IF;
END
$$;
