package face

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"remoteidv/verify/facematch"
)

// PhotoPopulation builds a calibration population from photo folders:
// labelled is a dataset (LoadDataset: a sub-folder or file-name prefix per
// person), each of whose usable photos is one face of its person; every
// face found in the photos directly in groups (group photos, such as
// dlib's examples/faces) counts as a different person, named after its
// file and position. Photos without a usable face are skipped; skipped
// counts them.
func (e *Engine) PhotoPopulation(ctx context.Context, labelled, groups string) (people []facematch.Person, skipped int, err error) {
	if labelled != "" {
		photos, err := LoadDataset(labelled)
		if err != nil {
			return nil, 0, fmt.Errorf("photo population: %w", err)
		}
		samples, err := e.DescribeAll(ctx, photos, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("photo population: %w", err)
		}
		byName := map[string]int{}
		for _, s := range samples {
			if s.Status != facematch.StatusOK {
				skipped++
				continue
			}
			i, ok := byName[s.Person]
			if !ok {
				i = len(people)
				byName[s.Person] = i
				people = append(people, facematch.Person{ID: s.Person})
			}
			people[i].Descriptors = append(people[i].Descriptors, s.Descriptor)
		}
	}
	if groups == "" {
		return people, skipped, nil
	}
	names, err := filepath.Glob(filepath.Join(groups, "*"))
	if err != nil {
		return nil, 0, fmt.Errorf("photo population: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if st, err := os.Stat(name); err != nil || st.IsDir() || !isPhoto(name) {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, 0, fmt.Errorf("photo population: %w", err)
		}
		faces, st, err := e.Faces(ctx, b)
		if err != nil {
			return nil, 0, fmt.Errorf("photo population %s: %w", name, err)
		}
		if st != facematch.StatusOK {
			skipped++
			continue
		}
		for i, f := range faces {
			people = append(people, facematch.Person{ID: fmt.Sprintf("%s#%d", filepath.Base(name), i+1), Descriptors: []facematch.Descriptor{f.Descriptor}})
		}
	}
	return people, skipped, nil
}
