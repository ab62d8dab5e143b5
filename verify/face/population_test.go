package face

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"testing"

	"remoteidv/verify/facematch"
)

// facesDir holds dlib's example group photos. Every face in them is
// another person except in bald_guys.jpg, dlib's face-clustering example
// (four actors, 24 times), which is left out.
const facesDir = "/usr/share/doc/libdlib19.1/examples/faces"

// notDistinct are the group photos that show someone twice.
var notDistinct = []string{"bald_guys.jpg"}

// populationFile is the johns and group photos' population as the
// conformance suite of the stores reads it (storagetest cannot call dlib).
const populationFile = "../../storage/storagetest/testdata/population.json"

var updatePopulation = flag.Bool("update-population", false, "rewrite "+populationFile)

// TestPhotoPopulation builds the demo's calibration population (johns
// photos by person, every face of the group photos another person) and
// checks it against the copy the storage conformance suite uses.
func TestPhotoPopulation(t *testing.T) {
	e := testEngine(t)
	if _, err := os.Stat(facesDir); err != nil {
		t.Fatalf("group photos missing (%v): install the Debian package libdlib19.1", err)
	}
	groups, err := GroupPhotos(facesDir, notDistinct...)
	if err != nil {
		t.Fatal(err)
	}
	people, skipped, err := e.PhotoPopulation(context.Background(), johnsDir, groups)
	if err != nil {
		t.Fatal(err)
	}
	faces := 0
	for _, p := range people[5:] {
		faces += len(p.Descriptors)
	}
	t.Logf("population: %d people (5 johns with 55 photos, %d group faces), %d photos skipped", len(people), faces, skipped)
	if len(people) < 5+5 || len(people[0].Descriptors) != 11 || people[0].ID != "John_Salley" {
		t.Fatalf("PhotoPopulation = %d people, first %s with %d photos; want 5 johns of 11 photos and at least 5 group faces",
			len(people), people[0].ID, len(people[0].Descriptors))
	}
	if *updatePopulation {
		b, err := json.Marshal(people)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(populationFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(populationFile)
	if err != nil {
		t.Fatalf("%v (run go test ./verify/face -run TestPhotoPopulation -update-population)", err)
	}
	var stored []facematch.Person
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(people) {
		t.Fatalf("%s holds %d people, the photos give %d", populationFile, len(stored), len(people))
	}
	for i := range people {
		if stored[i].ID != people[i].ID || len(stored[i].Descriptors) != len(people[i].Descriptors) {
			t.Fatalf("%s person %d = %s with %d faces, the photos give %s with %d", populationFile, i, stored[i].ID, len(stored[i].Descriptors), people[i].ID, len(people[i].Descriptors))
		}
		for j, d := range people[i].Descriptors {
			if dist := facematch.SquaredDistance(d, stored[i].Descriptors[j]); dist > 1e-6 || math.IsNaN(dist) {
				t.Errorf("%s: %s face %d is %g from what the engine computes", populationFile, people[i].ID, j, dist)
			}
		}
	}
}
