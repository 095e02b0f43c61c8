-- Measurements for the dashboard's graphs, sent by each host's agent every metering interval
-- (app::samples): cumulative counters, so the graphs' rates come from two rows and any row may
-- go. Rows older than a day are thinned to one per 10 minutes; all go after the retention.
CREATE TABLE server_samples (
    server_id        TEXT NOT NULL,
    at               BIGINT NOT NULL,
    cpu_seconds      DOUBLE PRECISION NOT NULL,
    memory_rss_bytes BIGINT NOT NULL,
    disk_read_bytes  BIGINT NOT NULL,
    disk_write_bytes BIGINT NOT NULL,
    network_rx_bytes BIGINT NOT NULL,
    network_tx_bytes BIGINT NOT NULL,
    PRIMARY KEY (server_id, at)
);
CREATE INDEX server_samples_at ON server_samples (at);
CREATE TABLE host_samples (
    host_id                TEXT NOT NULL,
    at                     BIGINT NOT NULL,
    cpu_total_seconds      DOUBLE PRECISION NOT NULL,
    cpu_busy_seconds       DOUBLE PRECISION NOT NULL,
    memory_total_bytes     BIGINT NOT NULL,
    memory_available_bytes BIGINT NOT NULL,
    storage_size_bytes     BIGINT NOT NULL,
    storage_free_bytes     BIGINT NOT NULL,
    PRIMARY KEY (host_id, at)
);
CREATE INDEX host_samples_at ON host_samples (at);
