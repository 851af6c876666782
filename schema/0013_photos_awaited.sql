-- The inspections still waiting for photos, few at any time: the orphan sweeper asks which photo ids
-- they await before it deletes an object without a row (server/photos/sweeper.py).
CREATE INDEX inspections_photos_missing_idx ON inspections (id) WHERE photos_missing > 0;
