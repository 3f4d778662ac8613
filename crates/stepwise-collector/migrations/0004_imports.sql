-- Imports (`stepwise band import`): a device an export names that is not a band paired here
-- uploads with the import pairing's token (the row `importer_id` points to), naming itself as
-- the upload's source. NULL for bands paired over Bluetooth and for the import pairing itself.
ALTER TABLE devices ADD COLUMN importer_id INTEGER REFERENCES devices (id);
