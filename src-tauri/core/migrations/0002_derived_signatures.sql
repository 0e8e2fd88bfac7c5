-- Signatures of each call's derived rows (hashes of what was last written), so rebuilding a
-- call after a new event rewrites only the parts that changed. NULL means "unknown": the next
-- rebuild rewrites that part and stores its signature. Values are a cache, never data.
ALTER TABLE call ADD COLUMN sig_legs INTEGER;
ALTER TABLE call ADD COLUMN sig_parks INTEGER;
ALTER TABLE call ADD COLUMN sig_ivr INTEGER;
-- Recordings and transfers.
ALTER TABLE call ADD COLUMN sig_media INTEGER;
ALTER TABLE call ADD COLUMN sig_parties INTEGER;
ALTER TABLE call ADD COLUMN sig_search INTEGER;
