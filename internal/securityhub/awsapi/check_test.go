package awsapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi/awstest"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		// env runs the check through the environment, as `tocsin aws check` would.
		env    bool
		noKeys bool
		server func(*awstest.Options)
		fault  *awstest.Fault
		wrong  bool // the base identity's secret is wrong
		role   awsapi.Role
		// want holds, per step, "ok" or a fragment the failure's Detail must contain.
		want [3]string
	}{
		{name: "no credentials fails the first step and says how to provide them", env: true, noKeys: true,
			want: [3]string{"AWS_ACCESS_KEY_ID", awsapi.Skipped, awsapi.Skipped}},
		{name: "everything in order passes every step", env: true,
			want: [3]string{"ok", "ok", "ok"}},
		{name: "a role that does not trust tocsin points at the trust policy",
			role: awsapi.Role{ARN: "arn:aws:iam::111122223333:role/other", ExternalID: externalID, Region: homeRegion},
			want: [3]string{"ok", "trust policy", awsapi.Skipped}},
		{name: "a wrong ExternalId points at the trust policy and the external ID",
			role: awsapi.Role{ARN: roleARN, ExternalID: "tocsin-wrong-id", Region: homeRegion},
			want: [3]string{"ok", "sts:ExternalId condition", awsapi.Skipped}},
		{name: "a missing ExternalId says none was sent",
			role: awsapi.Role{ARN: roleARN, Region: homeRegion},
			want: [3]string{"ok", "no ExternalId was sent", awsapi.Skipped}},
		{name: "refused base credentials are told apart from the trust policy", wrong: true,
			want: [3]string{"ok", "refused the base credentials", awsapi.Skipped}},
		{name: "no role ARN says which setting is missing",
			role: awsapi.Role{Region: homeRegion},
			want: [3]string{"ok", "--role-arn", awsapi.Skipped}},
		{name: "a role without securityhub:GetFindings says so",
			server: func(o *awstest.Options) { o.Roles[0].Allow = []string{awstest.ActionBatchUpdateFindings} },
			want:   [3]string{"ok", "ok", "lacks securityhub:GetFindings"}},
		{name: "Security Hub not enabled in the region says so",
			fault: ptr(awstest.NotEnabled(awstest.OpGetFindings)),
			want:  [3]string{"ok", "ok", "not enabled in this account/region"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*awstest.Options)
			if tt.server != nil {
				mods = append(mods, tt.server)
			}
			srv := newServer(t, mods...)
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			var c *awsapi.Client
			if tt.env {
				srv.Env(t)
				if tt.noKeys {
					awstest.UnsetEnv(t, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
				}
				c = newClient(t, nil, awsapi.Options{}, nil)
			} else {
				cfg := srv.Config()
				if tt.wrong {
					cfg.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKeyID(), "wrong", "")
				}
				c = newClient(t, srv, awsapi.Options{BaseConfig: cfg}, nil)
			}
			r := role
			if tt.role != (awsapi.Role{}) {
				r = tt.role
			}
			steps := c.Check(context.Background(), r)
			if len(steps) != 3 {
				t.Fatalf("%d steps: %+v", len(steps), steps)
			}
			for i, s := range steps {
				want := tt.want[i]
				switch {
				case want == "ok" && !s.OK:
					t.Errorf("step %q failed: %s", s.Name, s.Detail)
				case want != "ok" && s.OK:
					t.Errorf("step %q passed: %s", s.Name, s.Detail)
				case want == awsapi.Skipped && s.Detail != awsapi.Skipped:
					t.Errorf("step %q: %q, want it skipped", s.Name, s.Detail)
				case want != "ok" && !strings.Contains(s.Detail, want):
					t.Errorf("step %q: %q does not say %q", s.Name, s.Detail, want)
				}
			}
			for _, s := range steps {
				t.Logf("%-45s %-5v %s", s.Name, s.OK, s.Detail)
			}
		})
	}

	t.Run("the steps name the role and the region, and GetFindings runs as the role", func(t *testing.T) {
		srv := newServer(t)
		c := newClient(t, srv, awsapi.Options{}, nil)
		steps := c.Check(context.Background(), role)
		want := []string{"AWS credentials", "assume role " + roleARN, "Security Hub GetFindings in " + homeRegion}
		for i, s := range steps {
			if s.Name != want[i] {
				t.Errorf("step %d is %q, want %q", i, s.Name, want[i])
			}
		}
		got := srv.CallsTo(awstest.OpGetFindings)
		if len(got) != 1 {
			t.Fatalf("%d GetFindings calls", len(got))
		}
		g := got[0]
		if g.Region != homeRegion || !strings.HasPrefix(g.AccessKeyID, "ASIA") || g.RoleARN != roleARN ||
			g.GetFindings.MaxResults == nil || *g.GetFindings.MaxResults != 1 {
			t.Errorf("GetFindings call %+v", g)
		}
		if strings.Contains(steps[0].Detail, srv.AccessKeyID()) {
			t.Errorf("the whole access key id is shown: %s", steps[0].Detail)
		}
	})
}
