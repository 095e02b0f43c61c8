-- The digest of the last report applied in full for the host, with the host's generation
-- then ("sha256hex:generation"): an unchanged report at an unchanged generation only
-- records a sighting, on whichever controller it arrives.
ALTER TABLE hosts ADD COLUMN report_digest TEXT;
