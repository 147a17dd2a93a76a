package browser

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/launcher/flags"
)

// chromium is a running Chromium process group with its own profile.
type chromium struct {
	cmd      *exec.Cmd
	dataDir  string
	devtools string // the DevTools WebSocket URL
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium runs Chromium with its sandbox on: as o.User when this
// process is root (Chromium's sandbox refuses root), otherwise as this
// user, in a new process group that dies with the worker, reaching the
// network only through proxyAddr.
func startChromium(o Options, proxyAddr string) (*chromium, error) {
	cred, err := browserUser(o.User)
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "hubkeeper-chromium-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dataDir)
			return nil, err
		}
	}
	// rod's launcher knows the flags for automation; it would also turn
	// the sandbox off inside a container, which is deleted here.
	l := launcher.New().Headless(true).UserDataDir(dataDir).
		Set("disable-background-networking").Set("disable-component-update").Set("disable-sync").
		Set("no-first-run").Set("disable-gpu").Set("disable-quic").Set("disable-dev-shm-usage").
		Set(flags.ProxyServer, "http://"+proxyAddr).Set("proxy-bypass-list", "<-loopback>").
		Delete(flags.NoSandbox)
	cmd := exec.Command(o.Bin, l.FormatArgs()...)
	// The worker's environment holds its secrets (the encryption keys, the
	// database URL): Chromium gets none of it.
	cmd.Env = []string{"HOME=" + dataDir, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, err
	}
	c := &chromium{cmd: cmd, dataDir: dataDir}
	type outcome struct {
		url  string
		tail []string // the last lines Chromium wrote, when it wrote no URL
	}
	found := make(chan outcome, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		var tail []string
		for lines.Scan() {
			if m := devtoolsLine.FindStringSubmatch(lines.Text()); m != nil {
				found <- outcome{url: m[1]}
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			tail = append(tail[max(0, len(tail)-4):], lines.Text())
		}
		found <- outcome{tail: tail}
	}()
	select {
	case out := <-found:
		if out.url == "" {
			c.stop()
			return nil, fmt.Errorf("chromium exited before it listened for DevTools: %s", strings.Join(out.tail, " | "))
		}
		c.devtools = out.url
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, errors.New("chromium did not listen for DevTools within 30s")
	}
}

// browserUser returns the credentials to run Chromium with: name's when
// this process is root, none (this process's) otherwise.
func browserUser(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("chromium runs with its sandbox, which refuses root: user %q (HUBKEEPER_BROWSER_USER) is needed: %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if uid == 0 {
		return nil, fmt.Errorf("HUBKEEPER_BROWSER_USER %q is root; name an unprivileged user", name)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// pid is the browser process's id.
func (c *chromium) pid() int { return c.cmd.Process.Pid }

// stop kills the process group and removes the profile.
func (c *chromium) stop() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	_ = c.cmd.Wait()
	_ = os.RemoveAll(c.dataDir)
}
