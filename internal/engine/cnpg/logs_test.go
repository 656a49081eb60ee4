package cnpg

import (
	"reflect"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// An instance pod's output as CloudNativePG's instance manager writes it:
// its own lines, and the server's CSV log records as JSON.
const instanceOutput = `{"level":"info","ts":"2026-12-06T10:00:00.100Z","logger":"setup","msg":"Starting CloudNativePG Instance Manager","logging_pod":"pg-1"}
{"level":"info","ts":"2026-12-06T10:00:01.000Z","logger":"postgres","msg":"record","logging_pod":"pg-1","record":{"log_time":"2026-12-06 10:00:00.900 UTC","process_id":"27","session_id":"6752cc58.1b","session_line_num":"1","session_start_time":"2026-12-06 10:00:00 UTC","transaction_id":"0","error_severity":"LOG","sql_state_code":"00000","message":"database system is ready to accept connections","backend_type":"postmaster","query_id":"0"}}
not json: a line written before the logger started
{"level":"info","ts":"2026-12-06T10:05:00.000Z","logger":"postgres","msg":"record","logging_pod":"pg-1","record":{"log_time":"2026-12-06 10:05:00.123 UTC","user_name":"app_user","database_name":"appdb","process_id":"81","connection_from":"10.0.0.1:5000","error_severity":"FATAL","sql_state_code":"28P01","message":"password authentication failed for user \"app_user\"","detail":"Connection matched pg_hba.conf line 9: \"host all all all scram-sha-256\"","backend_type":"client backend","query_id":"0"}}
{"level":"info","ts":"2026-12-06T10:09:00.000Z","logger":"postgres","msg":"record","logging_pod":"pg-1","record":{"log_time":"2026-12-06 11:09:00.000 Europe/Berlin","process_id":"30","error_severity":"LOG","message":"checkpoint starting: time","backend_type":"checkpointer"}}
{"level":"info","ts":"2026-12-06T11:00:00.000Z","logger":"postgres","msg":"record","logging_pod":"pg-1","record":{"log_time":"2026-12-06 11:00:00.000 UTC","process_id":"30","error_severity":"LOG","message":"after the range","backend_type":"checkpointer"}}
`

func TestParseInstanceLog(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	end := time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC)
	got := parseInstanceLog([]byte(instanceOutput), "n1", start, end)
	want := []engine.LogEntry{
		{NodeID: "n1", Job: engine.JobPostgreSQL, Time: time.Date(2026, 12, 6, 10, 0, 0, 900e6, time.UTC),
			Labels: map[string]string{"level": "log", "pid": "27"}, Message: "database system is ready to accept connections"},
		{NodeID: "n1", Job: engine.JobPostgreSQL, Time: time.Date(2026, 12, 6, 10, 5, 0, 123e6, time.UTC),
			Labels:  map[string]string{"level": "fatal", "pid": "81", "user": "app_user", "database": "appdb"},
			Message: "password authentication failed for user \"app_user\"\nDETAIL:  Connection matched pg_hba.conf line 9: \"host all all all scram-sha-256\""},
		{NodeID: "n1", Job: engine.JobPostgreSQL, Time: time.Date(2026, 12, 6, 10, 9, 0, 0, time.UTC),
			Labels: map[string]string{"level": "log", "pid": "30"}, Message: "checkpoint starting: time"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed:\n%+v\nwant:\n%+v", got, want)
	}
}
