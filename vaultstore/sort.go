package vaultstore

import "sort"

func sortByName(es []Entry) { sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name }) }
