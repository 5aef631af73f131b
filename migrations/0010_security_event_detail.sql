-- What a security event concerned, when its kind alone does not say: the export and the
-- period of a download of the books.
alter table security_events add column detail text;
