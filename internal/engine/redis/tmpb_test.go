package redis

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

func TestTmpBare(t *testing.T) {
	bin, _ := serverBinary()
	r, _ := proc.Default()
	for _, asEngine := range []bool{false, true} {
		for i := 0; i < 4; i++ {
			dir := "/tmp/dbaasd-tmpb" + strconv.Itoa(i)
			_ = exec.Command("mkdir", "-p", dir).Run()
			_ = exec.Command("chmod", "777", dir).Run()
			port := 40000 + i
			a := time.Now()
			args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", dir, "--pidfile", dir + "/p.pid", "--save", "", "--logfile", dir + "/l.log"}
			var err error
			if asEngine {
				_, err = r.Run(context.Background(), bin, args...)
			} else {
				_, err = exec.Command(bin, args...).CombinedOutput()
			}
			b := time.Now()
			for {
				cl := newClient(endpoint{network: "tcp", addr: addr("127.0.0.1", port), timeout: time.Second}, "")
				e := cl.Ping(context.Background()).Err()
				cl.Close()
				if e == nil {
					break
				}
				time.Sleep(time.Millisecond)
			}
			c := time.Now()
			t.Logf("engine=%v exec %v ping %v err %v", asEngine, b.Sub(a), c.Sub(b), err)
			time.Sleep(50 * time.Millisecond)
			proc.Terminate(proc.ReadPidFile(dir+"/p.pid"), time.Second)
		}
	}
}
