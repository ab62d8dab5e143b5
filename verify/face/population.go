package face

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"remoteidv/verify/facematch"
)

// PhotoPopulation builds a calibration population from photos: labelled
// is a dataset folder (LoadDataset: a sub-folder or file-name prefix per
// person), each of whose usable photos is one face of its person; every
// face found in the group photos (files, such as dlib's examples/faces)
// counts as a different person, named after its file and position, so a
// group photo must not show anyone twice or anyone of labelled. Photos
// without a usable face are skipped; skipped counts them.
func (e *Engine) PhotoPopulation(ctx context.Context, labelled string, groups []string) (people []facematch.Person, skipped int, err error) {
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
	for _, name := range groups {
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

// GroupPhotos lists the JPEG and PNG files directly in dir, sorted, leaving
// out the file names in exclude.
func GroupPhotos(dir string, exclude ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("group photos: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !isPhoto(e.Name()) || slices.Contains(exclude, e.Name()) {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}
