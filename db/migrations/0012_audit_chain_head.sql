-- The audit chain's head, read under the chain lock in one call. The read is a statement of its own inside the
-- function, so under READ COMMITTED it sees every entry committed before the lock was granted, which one
-- statement that locked and read together would not; and the embedded database pays one round trip, not two.
CREATE FUNCTION audit_chain_head(lock_key bigint) RETURNS TABLE(seq bigint, hash text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  RETURN QUERY SELECT a.seq, a.hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
END $$;
