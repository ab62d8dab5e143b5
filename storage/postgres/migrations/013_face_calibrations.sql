-- Face calibrations (issue 12): the impostor and genuine score distributions
-- of a population (the enrolled accounts, or the demo photos) for one set of
-- model files. Each calibration gets the next number (id); the newest of the
-- running models' hash is the one in force. body is the whole calibration as
-- JSON (verify/facematch.Calibration: the impostor tail and histogram, the
-- genuine scores); the counts are columns so a reader need not parse it.
CREATE TABLE face_calibrations (
	id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_hash       TEXT NOT NULL CHECK (length(model_hash) = 64),
	created_at       BIGINT NOT NULL,
	source           TEXT NOT NULL CHECK (source IN ('accounts', 'demo', 'folder')),
	actor            TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
	people           BIGINT NOT NULL CHECK (people >= 0),
	photos           BIGINT NOT NULL CHECK (photos >= people),
	impostor_pairs   BIGINT NOT NULL CHECK (impostor_pairs >= 0),
	population_pairs BIGINT NOT NULL CHECK (population_pairs >= impostor_pairs OR population_pairs = 0),
	genuine_pairs    BIGINT NOT NULL CHECK (genuine_pairs >= 0),
	body             TEXT NOT NULL CHECK (json_typeof(body::json) = 'object')
);
CREATE INDEX face_calibrations_model ON face_calibrations (model_hash, id);
