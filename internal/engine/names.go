package engine

import (
	"crypto/rand"
	"math/big"
)

// Names for containers started without --name, Docker-style
// ("brave_curie"): a word about the mood and a pioneer of computing.
var (
	moods = []string{
		"agile", "bold", "brave", "bright", "calm", "clever", "eager", "gentle", "happy", "keen",
		"kind", "lucid", "merry", "nimble", "patient", "quiet", "quick", "serene", "steady", "sunny",
		"swift", "tidy", "upbeat", "vivid", "witty", "zen",
	}
	pioneers = []string{
		"allen", "babbage", "backus", "bell", "cerf", "clarke", "codd", "conway", "dijkstra", "engelbart",
		"hamilton", "hopper", "kahn", "knuth", "lamport", "liskov", "lovelace", "mccarthy", "perlman", "pike",
		"ritchie", "shannon", "thompson", "torvalds", "turing", "wirth",
	}
)

func pick(list []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	return list[n.Int64()]
}

func generateName() string { return pick(moods) + "_" + pick(pioneers) }
