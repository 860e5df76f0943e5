package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi/awstest"
	"github.com/tocsin-dev/tocsin/internal/signin"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// tocsin runs one command and returns stdout, stderr and the error.
func tocsin(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestASecurityHubIntegrationGetsAnExternalIdAndItsTemplateNamesIt(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	_, errOut, err := tocsin(t, "integration", "create", "--type", "amazonsecurityhub", "--name", "prod", "--min-severity", "HIGH", "--database", db)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(errOut, "ExternalId for the write-back role: ")
	if i < 0 {
		t.Fatalf("create did not print an ExternalId: %q", errOut)
	}
	ext := strings.Fields(errOut[i+len("ExternalId for the write-back role: "):])[0]

	tpl, _, err := tocsin(t, "aws", "template", "--integration", "prod", "--base-url", "https://tocsin.example.com", "--key", "k123",
		"--trusted-principal", "111122223333", "--database", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AWS::IAM::Role", "AWS::Events::Rule", "AWS::SNS::Subscription", ext, "securityhub:BatchUpdateFindings", "CRITICAL", "apiKey=k123"} {
		if !strings.Contains(tpl, want) {
			t.Errorf("the template lacks %q", want)
		}
	}
	org, _, err := tocsin(t, "aws", "template", "--integration", "prod", "--org", "--regions", "eu-central-1,us-east-1", "--ous", "r-ab12",
		"--base-url", "https://tocsin.example.com", "--trusted-principal", "111122223333", "--database", db)
	if err != nil || !strings.Contains(org, "AWS::CloudFormation::StackSet") || !strings.Contains(org, "us-east-1") {
		t.Errorf("--org: %v\n%s", err, org)
	}
	if _, _, err := tocsin(t, "aws", "template", "--integration", "prod", "--database", db); err == nil {
		t.Error("a template for a plain-http base URL was printed; SNS only delivers to https")
	}
}

func TestIntegrationUpdateSetsWriteBackAndRefusesABadRole(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	if _, _, err := tocsin(t, "integration", "create", "--type", "amazonsecurityhub", "--name", "prod", "--database", db); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := tocsin(t, "integration", "update", "prod", "--role-arn", "arn:aws:iam::123456789012:role/tocsinSecurityHubRole", "--region", "eu-central-1", "--database", db)
	if err != nil || !strings.Contains(errOut, "send updates: true") {
		t.Fatalf("update: %v %q", err, errOut)
	}
	_, errOut, err = tocsin(t, "integration", "update", "prod", "--send-updates=false", "--database", db)
	if err != nil || !strings.Contains(errOut, "send updates: false") || !strings.Contains(errOut, "tocsinSecurityHubRole") {
		t.Fatalf("--send-updates=false: %v %q, want the role kept and updates off", err, errOut)
	}
	for _, bad := range [][]string{{"--role-arn", "tocsinSecurityHubRole"}, {"--region", "Frankfurt"}, {"--min-severity", "SEVERE"}} {
		if _, _, err := tocsin(t, append([]string{"integration", "update", "prod", "--database", db}, bad...)...); err == nil {
			t.Errorf("update %v succeeded", bad)
		}
	}
}

func TestAWSCheckSaysWhatWorksAndWhatDoesNot(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/tocsinSecurityHubRole"
	aws := awstest.New(t, awstest.Options{Roles: []awstest.Role{{ARN: role, ExternalID: "tocsin-right",
		Allow: []string{awstest.ActionBatchUpdateFindings, awstest.ActionGetFindings}}}})
	aws.Env(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	if _, _, err := tocsin(t, "integration", "create", "--type", "amazonsecurityhub", "--name", "prod", "--role-arn", role,
		"--external-id", "tocsin-right", "--region", "eu-central-1", "--database", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := tocsin(t, "aws", "check", "--integration", "prod", "--database", db)
	if err != nil || strings.Contains(out, "FAIL") || strings.Count(out, "ok  ") != 3 {
		t.Fatalf("check with the right setup: %v\n%s", err, out)
	}
	if _, _, err := tocsin(t, "integration", "update", "prod", "--external-id", "tocsin-wrong", "--database", db); err != nil {
		t.Fatal(err)
	}
	out, _, err = tocsin(t, "aws", "check", "--integration", "prod", "--database", db)
	if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(out, "ExternalId") {
		t.Errorf("check with a wrong ExternalId: %v\n%s", err, out)
	}
}

func TestSetPasswordMakesTheFirstAdminWhoCanThenSignIn(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	t.Setenv("TOCSIN_PASSWORD", "correct horse battery")
	if _, errOut, err := tocsin(t, "user", "set-password", "admin@example.com", "--database", db); err != nil || !strings.Contains(errOut, "role admin") {
		t.Fatalf("set-password: %v %q", err, errOut)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := signin.NewService(st.SignIn(), signin.Options{}).Login(context.Background(), "admin@example.com", "correct horse battery", "test"); err != nil {
		t.Errorf("the new admin cannot sign in: %v", err)
	}
	if u, err := st.OnCall().User(context.Background(), "admin@example.com"); err != nil || u.Role != "admin" {
		t.Errorf("user = %+v, %v; want role admin", u, err)
	}
	t.Setenv("TOCSIN_PASSWORD", "short")
	if _, _, err := tocsin(t, "user", "set-password", "admin@example.com", "--database", db); err == nil {
		t.Error("a short password was accepted")
	}
}
