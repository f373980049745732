package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/federation/fedtest"
)

// child is this test binary run again as another process, to run one test
// that serves something: the fake fediverse of the fan-out benchmarks, or
// a Hearth process of the multi-process tests.
type child struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	addr   string             // what the child printed after its ready prefix
	output *fedtest.LogBuffer // what it printed, from two pipes at once
	done   chan error
}

// startChild runs the test called test in a new process of this binary,
// with env added to the environment, and returns once the child prints a
// line starting with ready: the rest of the line is its address. The child
// ends when its standard input closes, which the test's cleanup does, or
// when it is killed. Everything else it prints is kept, to show should it
// fail.
func startChild(tb testing.TB, test string, env []string, ready string) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	c := &child{cmd: cmd, output: &fedtest.LogBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.output
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for c.addr == "" && lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), ready); ok {
			c.addr = addr
		} else {
			c.output.Write([]byte(lines.Text() + "\n"))
		}
	}
	go func() {
		for lines.Scan() {
			c.output.Write([]byte(lines.Text() + "\n"))
		}
		c.done <- cmd.Wait()
	}()
	if c.addr == "" {
		stdin.Close()
		err := <-c.done
		tb.Fatalf("%s did not start: %v\n%s", test, err, c.output)
	}
	tb.Cleanup(func() {
		stdin.Close()
		if err := <-c.done; err != nil && !c.killed() {
			tb.Errorf("%s: %v\n%s", test, err, c.output)
		}
	})
	return c
}

func (c *child) killed() bool {
	return c.cmd.ProcessState != nil && !c.cmd.ProcessState.Exited()
}
