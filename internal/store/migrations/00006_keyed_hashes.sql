-- +goose Up
-- Token hashes become keyed (HMAC-SHA256 under a key derived from the
-- secret key file). The hashes stored so far are bare SHA-256: they are
-- marked with the prefix 'sha256:' so that they are never taken for keyed
-- ones, and dbaasd rewrites each as a keyed hash the first time its token
-- is presented (static tokens are rewritten at start, from the flags).
UPDATE tokens SET hash = 'sha256:' || hash WHERE hash NOT LIKE 'sha256:%';
UPDATE prometheus_metrics_tokens SET value_hash = 'sha256:' || value_hash WHERE value_hash NOT LIKE 'sha256:%';

-- +goose Down
UPDATE prometheus_metrics_tokens SET value_hash = substr(value_hash, 8) WHERE value_hash LIKE 'sha256:%';
UPDATE tokens SET hash = substr(hash, 8) WHERE hash LIKE 'sha256:%';
