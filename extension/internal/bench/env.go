package main

import "runtime"

func numCPU() int    { return runtime.GOMAXPROCS(0) }
func goarch() string { return runtime.GOOS + "/" + runtime.GOARCH }
