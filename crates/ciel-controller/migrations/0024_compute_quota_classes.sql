-- Quota classes: the `default` class overrides the built-in default limits for every
-- project without its own override (os-quota-class-sets).
CREATE TABLE compute_quota_classes (
    class_name TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (class_name, resource)
);
