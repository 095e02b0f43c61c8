-- Nova's reservation id: every server one POST /servers made (min_count/max_count) shares
-- it; GET /servers?reservation_id= finds them through the index.
ALTER TABLE servers ADD COLUMN reservation_id TEXT NOT NULL DEFAULT '';
CREATE INDEX servers_reservation_id ON servers (reservation_id);
