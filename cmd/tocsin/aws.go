package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
	"github.com/tocsin-dev/tocsin/internal/securityhub/cloudformation"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// awsCmd is `tocsin aws template` and `tocsin aws check`: the AWS side of a Security Hub integration.
func awsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("aws needs a subcommand: template or check")
	}
	sub, args := args[0], args[1:]
	fs, c := newFlags("aws "+sub, stderr)
	name := fs.String("integration", "", "the amazonsecurityhub integration (required)")
	var (
		org                                   *bool
		key, baseURL, principal, regions, ous *string
		roleName                              *string
	)
	if sub == "template" {
		org = fs.Bool("org", false, "print a StackSet for every account and region of an AWS Organization instead of one account")
		key = fs.String("key", "", "the integration's API key, written into the template as the endpoint's default (without it, give TocsinEndpoint when deploying)")
		baseURL = fs.String("base-url", "http://127.0.0.1:8080", "public https:// URL of the tocsin server, as SNS will reach it")
		principal = fs.String("trusted-principal", "", "AWS account id or IAM principal ARN that runs tocsin and assumes the write-back role")
		regions = fs.String("regions", "", "--org: comma-separated regions to deploy to in every account")
		ous = fs.String("ous", "", "--org: comma-separated organizational unit ids (r-… for the whole organization)")
		roleName = fs.String("role-name", "", "name of the write-back role (default "+cloudformation.DefaultRoleName+")")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("aws %s needs --integration NAME", sub)
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	in, err := integration.NewService(db.Integrations()).Get(ctx, *name)
	if err != nil {
		return fmt.Errorf("integration %q: %w", *name, err)
	}
	if in.Type != integration.TypeSecurityHub {
		return fmt.Errorf("integration %q is of type %s, not amazonsecurityhub", in.Name, in.Type)
	}
	switch sub {
	case "template":
		p := cloudformation.Params{
			IntegrationName: in.Name, EndpointURL: intakeURL(*baseURL, *key), IncludeKey: *key != "",
			MinSeverity: in.Settings.Filter.MinSeverity, ProductNames: in.Settings.Filter.ProductNames,
			AccountIDs: in.Settings.Filter.AccountIDs, RecordStates: in.Settings.Filter.RecordStates,
			TrustedPrincipal: *principal, ExternalID: in.Settings.ExternalID, RoleName: *roleName,
			SkipRole: in.Settings.ExternalID == "",
		}
		var out []byte
		if *org {
			out, err = cloudformation.OrgTemplate(p, cloudformation.Org{Regions: splitList(*regions), OrganizationalUnitIDs: splitList(*ous)})
		} else {
			out, err = cloudformation.Template(p)
		}
		if err != nil {
			return err
		}
		if p.SkipRole {
			fmt.Fprintln(stderr, "The integration has no ExternalId, so the template has no write-back role; set one with tocsin integration update NAME --external-id ID.")
		}
		_, err = stdout.Write(out)
		return err
	case "check":
		return awsCheck(ctx, in, stdout)
	}
	return fmt.Errorf("unknown aws subcommand %q: use template or check", sub)
}

// intakeURL is the Security Hub endpoint as SNS calls it, with the key when given.
func intakeURL(baseURL, key string) string {
	u := strings.TrimRight(baseURL, "/") + "/v1/json/amazonsecurityhub?apiKey="
	if key == "" {
		return u + "KEY"
	}
	return u + url.QueryEscape(key)
}

// awsCheck does what Opsgenie's confirmation alert does for the write-back: it assumes the role and
// reads one finding, and says what works and what does not.
func awsCheck(ctx context.Context, in *integration.Integration, stdout io.Writer) error {
	st := in.Settings
	if st.RoleARN == "" {
		return fmt.Errorf("integration %q has no role to check; set one with tocsin integration update %s --role-arn ARN", in.Name, in.Name)
	}
	client, err := awsapi.NewClient(ctx, awsapi.Options{})
	if err != nil {
		return err
	}
	failed := false
	for _, step := range client.Check(ctx, awsapi.Role{ARN: st.RoleARN, ExternalID: st.ExternalID, Region: st.Region}) {
		mark := "ok  "
		if !step.OK {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(stdout, "%s  %s: %s\n", mark, step.Name, step.Detail)
	}
	if !st.SendUpdates {
		fmt.Fprintln(stdout, "note  send updates is off: tocsin writes nothing back until it is on (tocsin integration update "+in.Name+" --send-updates).")
	}
	if failed {
		return errors.New("the AWS setup check failed")
	}
	return nil
}
