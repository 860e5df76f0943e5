package cloudformation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Logical ids of what the templates declare. They are part of the output people diff and deploy:
// renaming one makes CloudFormation replace the resource, so change them only on purpose.
const (
	idTopic            = "TocsinTopic"
	idTopicPolicy      = "TocsinTopicPolicy"
	idSubscription     = "TocsinSubscription"
	idImportedRule     = "FindingsImportedRule"
	idCustomActionRule = "CustomActionRule"
	idActionTarget     = "SendToTocsinAction"
	idRole             = "TocsinRole"
	idSetupCheckPolicy = "TocsinSetupCheckPolicy"
	idStackSet         = "FindingsStackSet"

	paramEndpoint   = "TocsinEndpoint"
	paramPrincipal  = "TrustedPrincipal"
	paramExternalID = "ExternalId"
	paramRoleName   = "RoleName"
	paramSetupCheck = "AllowSetupCheck"
	paramOUs        = "OrganizationalUnitIds"
	paramRegions    = "Regions"

	condSetupCheck = "SetupCheckAllowed"
)

// The only Security Hub permissions tocsin's role gets.
const (
	// ActionWriteBack is how acknowledge, close, notes and priority changes reach the finding.
	ActionWriteBack = "securityhub:BatchUpdateFindings"
	// ActionSetupCheck is used only by `tocsin aws check`, which reads one finding to prove the
	// role, its trust policy and the Region are right before any alert depends on them.
	ActionSetupCheck = "securityhub:GetFindings"
)

const policyVersion = "2012-10-17"

// Template returns the CloudFormation template (YAML) for one account and Region: the SNS topic,
// its policy and tocsin's HTTPS subscription, the EventBridge rules for imported findings and for
// the "Send to tocsin" custom action, the custom action itself and, unless p.SkipRole, the role
// tocsin assumes to write back.
func Template(p Params) ([]byte, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cloudformation template: %w", err)
	}
	params := []field{endpointParam(p, p.IncludeKey, "")}
	resources := deliveryResources(p)
	outputs := deliveryOutputs()
	var conditions []field
	if !p.SkipRole {
		params = append(params, roleParams(p)...)
		conditions = append(conditions, setupCheckCondition())
		resources = append(resources, roleResources(p)...)
		outputs = append(outputs, roleOutputs(p)...)
	}

	desc := fmt.Sprintf("tocsin Security Hub integration %q: sends Security Hub findings to tocsin (EventBridge -> SNS -> HTTPS) and adds the %q custom action.", p.IntegrationName, p.CustomActionName)
	if !p.SkipRole {
		desc += " Creates the role tocsin assumes to write alert actions back (" + ActionWriteBack + "; " + ActionSetupCheck + " only for `tocsin aws check`, see " + paramSetupCheck + ")."
	}
	root := obj(
		f("AWSTemplateFormatVersion", str("2010-09-09")),
		f("Description", str(desc)),
		f("Metadata", metadata(p, "account")),
		f("Parameters", obj(params...)),
		f("Conditions", mapOrNil(conditions)),
		f("Resources", obj(resources...)),
		f("Outputs", obj(outputs...)),
	)

	header := []string{
		fmt.Sprintf("tocsin: AWS side of the Security Hub integration %q, for one account and Region.", p.IntegrationName),
		generatedBy(p, ""),
		"Regenerate rather than edit. The output carries no date, so two versions can be diffed.",
	}
	header = append(header, deployHeader(p, "tocsin-"+slug(p.IntegrationName))...)
	return encode(comment(header), root)
}

// OrgTemplate returns a template that deploys the integration's delivery (topic, subscription,
// rules, custom action) to every account of the given organizational units and every Region in o,
// with a service-managed StackSet that also covers accounts that join later.
//
// Where an organisation has a Security Hub administrator account with cross-Region aggregation,
// prefer Template, deployed once in the administrator account's aggregation Region: findings of
// every member account and linked Region already arrive there. Deploying both would deliver each
// finding twice (tocsin dedupes them onto one alert, but it is twice the traffic).
//
// The write-back role is not in the StackSet: it is created once, by this template itself, in the
// account that deploys it. An integration writes back through a single role and Region
// (integration.Settings), and only a Security Hub administrator can update its members' findings,
// so a role in every member account would never be used, and a role per account and Region would
// fail outright, IAM names being global per account. Deploy this template from the Security Hub
// administrator account, registered as a StackSets delegated administrator (o.DelegatedAdmin), in
// the aggregation Region; without aggregation, write-back reaches only that Region's findings.
// Service-managed StackSets need trusted access between CloudFormation StackSets and AWS
// Organizations, which an organisation enables once, and never deploy to the management account
// itself.
func OrgTemplate(p Params, o Org) ([]byte, error) {
	p, perr := p.withDefaults()
	o, oerr := o.withDefaults(p)
	if err := errors.Join(perr, oerr); err != nil {
		return nil, fmt.Errorf("cloudformation org template: %w", err)
	}
	body, err := memberTemplate(p, o)
	if err != nil {
		return nil, err
	}

	params := []field{
		endpointParam(p, p.IncludeKey, "Passed on to every stack instance."),
		f(paramOUs, obj(
			f("Type", str("CommaDelimitedList")),
			f("Description", str("Organizational units (ou-...) or the organization root (r-...) whose accounts, present and future, get the integration.")),
			f("Default", optStr(strings.Join(o.OrganizationalUnitIDs, ","))),
		)),
		f(paramRegions, obj(
			f("Type", str("CommaDelimitedList")),
			f("Description", str("Regions to deploy to in every account: those where Security Hub is enabled, since the custom action cannot be created elsewhere.")),
			f("Default", str(strings.Join(o.Regions, ","))),
		)),
	}
	callAs := "SELF"
	if o.DelegatedAdmin {
		callAs = "DELEGATED_ADMIN"
	}
	resources := []field{f(idStackSet, obj(
		f("Type", str("AWS::CloudFormation::StackSet")),
		f("Properties", obj(
			f("StackSetName", str(o.StackSetName)),
			f("Description", str(fmt.Sprintf("Sends Security Hub findings of every account and Region to tocsin integration %q.", p.IntegrationName))),
			f("PermissionModel", str("SERVICE_MANAGED")),
			f("CallAs", str(callAs)),
			fc("New accounts in the organizational units get the stack too; accounts that leave lose it.",
				"AutoDeployment", obj(
					f("Enabled", boolean(true)),
					f("RetainStacksOnAccountRemoval", boolean(false)),
				)),
			f("ManagedExecution", obj(f("Active", boolean(true)))),
			fc("All Regions at once, a quarter of the accounts at a time; a few failing accounts (say, one\nwhere Security Hub is not enabled yet) do not stop the others.",
				"OperationPreferences", obj(
					f("RegionConcurrencyType", str("PARALLEL")),
					f("MaxConcurrentPercentage", integer(25)),
					f("FailureTolerancePercentage", integer(10)),
				)),
			f("Parameters", list(obj(
				f("ParameterKey", str(paramEndpoint)),
				f("ParameterValue", ref(paramEndpoint)),
			))),
			f("StackInstancesGroup", list(obj(
				f("DeploymentTargets", obj(f("OrganizationalUnitIds", ref(paramOUs)))),
				f("Regions", ref(paramRegions)),
			))),
			f("TemplateBody", literal(string(body))),
		)),
	))}
	outputs := []field{f("StackSetId", obj(
		f("Description", str("The StackSet that delivers findings from every account and Region.")),
		f("Value", ref(idStackSet)),
	))}
	var conditions []field
	if !p.SkipRole {
		params = append(params, roleParams(p)...)
		conditions = append(conditions, setupCheckCondition())
		resources = append(resources, roleResources(p)...)
		outputs = append(outputs, roleOutputs(p)...)
	}

	desc := fmt.Sprintf("tocsin Security Hub integration %q for an AWS Organization: a service-managed StackSet sends every account's and Region's Security Hub findings to tocsin.", p.IntegrationName)
	if !p.SkipRole {
		desc += " Creates, in this account only, the role tocsin assumes to write alert actions back (" + ActionWriteBack + "; " + ActionSetupCheck + " only for `tocsin aws check`, see " + paramSetupCheck + ")."
	}
	root := obj(
		f("AWSTemplateFormatVersion", str("2010-09-09")),
		f("Description", str(desc)),
		f("Metadata", metadata(p, "organization")),
		f("Parameters", obj(params...)),
		f("Conditions", mapOrNil(conditions)),
		f("Resources", obj(resources...)),
		f("Outputs", obj(outputs...)),
	)

	header := []string{
		fmt.Sprintf("tocsin: AWS side of the Security Hub integration %q, for every account and Region of an AWS Organization.", p.IntegrationName),
		generatedBy(p, " --org"),
		"Regenerate rather than edit. The output carries no date, so two versions can be diffed.",
		"Simpler, when Security Hub has an administrator account with cross-Region aggregation: deploy the",
		"single-account template there, in the aggregation Region, instead of this one; not both.",
		"Deploy from the Security Hub administrator account (registered as a StackSets delegated administrator),",
		"in the Region tocsin writes back to: the write-back role is created there only.",
	}
	header = append(header, deployHeader(p, o.StackSetName+"-org")...)
	return encode(comment(header), root)
}

// deployHeader is the end of a template's header: a warning when the key is inside, and the command
// that deploys it as stackName.
func deployHeader(p Params, stackName string) []string {
	var lines []string
	if p.IncludeKey {
		lines = append(lines, "This file contains the integration's API key (the "+paramEndpoint+" default): keep it as secret as the key.")
	}
	deploy := "aws cloudformation deploy --stack-name " + stackName + " --template-file FILE"
	if !p.SkipRole {
		deploy += " --capabilities CAPABILITY_NAMED_IAM"
	}
	if !p.IncludeKey {
		deploy += " --parameter-overrides '" + paramEndpoint + "=" + redact(p.EndpointURL) + "'"
	}
	return append(lines, "Deploy: "+deploy)
}

// memberTemplate is the StackSet's template: the delivery part of Template, without the role and
// without the key, which the StackSet passes in as a parameter.
func memberTemplate(p Params, o Org) ([]byte, error) {
	root := obj(
		f("AWSTemplateFormatVersion", str("2010-09-09")),
		f("Description", str(fmt.Sprintf("tocsin Security Hub integration %q: sends this account's and Region's Security Hub findings to tocsin (EventBridge -> SNS -> HTTPS) and adds the %q custom action.", p.IntegrationName, p.CustomActionName))),
		f("Metadata", metadata(p, "member")),
		f("Parameters", obj(endpointParam(p, false, "Set by StackSet "+o.StackSetName+"."))),
		f("Resources", obj(deliveryResources(p)...)),
		f("Outputs", obj(deliveryOutputs()...)),
	)
	header := comment([]string{
		fmt.Sprintf("tocsin: per-account part of the Security Hub integration %q, deployed by StackSet %s.", p.IntegrationName, o.StackSetName),
	})
	return encode(header, root)
}

// endpointParam declares the intake URL.
//
// The key in it is a secret, and CloudFormation cannot keep a secret that is written into the
// template: NoEcho masks a parameter's value in the console and in DescribeStacks, but a Default is
// part of the template body, which GetTemplate, the console's Template tab and every copy of the file
// show to whoever can read them. So the URL is the default only when the caller asked for it
// (includeKey: a one-off deploy from a trusted terminal). Otherwise the parameter has no default and
// the URL is given at deploy time, where NoEcho does hide it; the description shows its shape with the
// key redacted. Either way the key ends up in the SNS subscription's Endpoint attribute, readable by
// whoever may call sns:GetSubscriptionAttributes in the account.
func endpointParam(p Params, includeKey bool, note string) field {
	desc := "HTTPS URL of tocsin's Security Hub intake for integration " + strconv.Quote(p.IntegrationName) + ", with its key: " + redact(p.EndpointURL)
	if note != "" {
		desc += ". " + note
	}
	var def *yaml.Node
	if includeKey {
		def = str(p.EndpointURL)
	}
	return f(paramEndpoint, obj(
		f("Type", str("String")),
		f("NoEcho", boolean(true)),
		f("AllowedPattern", str(endpointAllowed)),
		f("ConstraintDescription", str("must be the https:// URL tocsin printed for the integration")),
		f("Description", str(desc)),
		f("Default", def),
	))
}

func roleParams(p Params) []field {
	return []field{
		f(paramPrincipal, obj(
			f("Type", str("String")),
			f("AllowedPattern", str(principalAllowed)),
			f("ConstraintDescription", str("must be a 12-digit AWS account id or an IAM principal ARN")),
			f("Description", str("AWS account id, or ARN of the IAM role or user, that runs tocsin and assumes the write-back role.")),
			f("Default", optStr(p.TrustedPrincipal)),
		)),
		f(paramExternalID, obj(
			f("Type", str("String")),
			f("AllowedPattern", str(externalIDAllowed)),
			f("MinLength", integer(2)),
			f("MaxLength", integer(1224)),
			f("ConstraintDescription", str("2-1224 letters, digits or +=,.@:/-_")),
			f("Description", str("The sts:ExternalId tocsin presents when assuming the role (the integration's external id).")),
			f("Default", str(p.ExternalID)),
		)),
		f(paramRoleName, obj(
			f("Type", str("String")),
			f("AllowedPattern", str(roleNameAllowed)),
			f("Description", str("Name of the role tocsin assumes.")),
			f("Default", str(p.RoleName)),
		)),
		f(paramSetupCheck, obj(
			f("Type", str("String")),
			f("AllowedValues", strs("true", "false")),
			f("Description", str("Also allow "+ActionSetupCheck+", which only `tocsin aws check` uses to prove the role works. \"false\" leaves the role with "+ActionWriteBack+" alone.")),
			f("Default", str("true")),
		)),
	}
}

func setupCheckCondition() field {
	return f(condSetupCheck, equals(ref(paramSetupCheck), str("true")))
}

func deliveryResources(p Params) []field {
	target := list(obj(
		f("Id", str("tocsin")),
		f("Arn", ref(idTopic)),
	))
	return []field{
		f(idTopic, obj(
			f("Type", str("AWS::SNS::Topic")),
			f("Properties", obj(
				f("DisplayName", str("tocsin")),
				fc("SHA256 signatures: tocsin verifies both versions, so there is no reason to accept SHA1.",
					"SignatureVersion", str("2")),
				f("Tags", list(obj(f("Key", str("tocsin:integration")), f("Value", str(p.IntegrationName))))),
			)),
		)),
		f(idTopicPolicy, obj(
			f("Type", str("AWS::SNS::TopicPolicy")),
			f("Properties", obj(
				f("Topics", list(ref(idTopic))),
				f("PolicyDocument", obj(
					f("Version", str(policyVersion)),
					f("Statement", list(obj(
						f("Sid", str("EventBridgePublish")),
						f("Effect", str("Allow")),
						f("Principal", obj(f("Service", str("events.amazonaws.com")))),
						f("Action", str("sns:Publish")),
						f("Resource", ref(idTopic)),
						fc("Only this account's rules: EventBridge in another account must not be able to feed tocsin.",
							"Condition", obj(f("StringEquals", obj(f("aws:SourceAccount", ref("AWS::AccountId")))))),
					))),
				)),
			)),
		)),
		f(idSubscription, obj(
			f("Type", str("AWS::SNS::Subscription")),
			f("Properties", obj(
				f("TopicArn", ref(idTopic)),
				f("Protocol", str("https")),
				f("Endpoint", ref(paramEndpoint)),
				fc("tocsin answers 2xx only once a finding is committed. These retries (about 40 minutes, within\nSNS's one-hour limit) ride out a restart or a short outage without losing findings.",
					"DeliveryPolicy", obj(f("healthyRetryPolicy", obj(
						f("numRetries", integer(20)),
						f("numNoDelayRetries", integer(0)),
						f("numMinDelayRetries", integer(2)),
						f("minDelayTarget", integer(10)),
						f("backoffFunction", str("exponential")),
						f("maxDelayTarget", integer(300)),
						f("numMaxDelayRetries", integer(5)),
					)))),
			)),
		)),
		fc("No filter on Workflow.Status: tocsin needs the RESOLVED and SUPPRESSED updates to close alerts.",
			idImportedRule, obj(
				f("Type", str("AWS::Events::Rule")),
				f("Properties", obj(
					f("Description", str(fmt.Sprintf("Security Hub findings for tocsin integration %q.", p.IntegrationName))),
					f("State", str("ENABLED")),
					f("EventPattern", importedPattern(p)),
					f("Targets", target),
				)),
			)),
		f(idCustomActionRule, obj(
			f("Type", str("AWS::Events::Rule")),
			f("Properties", obj(
				f("Description", str(fmt.Sprintf("Findings sent to tocsin integration %q with the %q custom action.", p.IntegrationName, p.CustomActionName))),
				f("State", str("ENABLED")),
				f("EventPattern", customActionPattern()),
				f("Targets", target),
			)),
		)),
		fc("Needs Security Hub enabled in this account and Region.",
			idActionTarget, obj(
				f("Type", str("AWS::SecurityHub::ActionTarget")),
				f("Properties", obj(
					f("Name", str(p.CustomActionName)),
					f("Id", str(p.CustomActionID)),
					f("Description", str(fmt.Sprintf("Send the selected findings to tocsin integration %q, which alerts whoever is on call.", p.IntegrationName))),
				)),
			)),
	}
}

func deliveryOutputs() []field {
	return []field{
		f("TopicArn", obj(
			f("Description", str("SNS topic EventBridge publishes Security Hub findings to; tocsin's HTTPS endpoint subscribes to it.")),
			f("Value", ref(idTopic)),
		)),
		f("ActionTargetArn", obj(
			f("Description", str("The Security Hub custom action that sends selected findings to tocsin.")),
			f("Value", getAtt(idActionTarget, "ActionTargetArn")),
		)),
	}
}

// roleResources declares the role tocsin assumes. Its permissions are the two Security Hub actions
// tocsin calls and nothing else. Resource is "*" because the role's credentials can only ever reach
// its own account's Security Hub, so naming the hub would narrow nothing while making the policy
// depend on how Security Hub authorizes each action. GetFindings sits in a policy of its own, under
// a condition, so an operator who wants the role to hold BatchUpdateFindings only can say so
// (AllowSetupCheck=false) and lose nothing but `tocsin aws check`.
func roleResources(p Params) []field {
	return []field{
		f(idRole, obj(
			f("Type", str("AWS::IAM::Role")),
			f("Properties", obj(
				f("RoleName", ref(paramRoleName)),
				f("Description", str(fmt.Sprintf("Assumed by tocsin (integration %q) to write alert actions back to Security Hub findings with %s; %s is allowed only for `tocsin aws check` (%s).", p.IntegrationName, ActionWriteBack, ActionSetupCheck, paramSetupCheck))),
				fc("The external id keeps anyone else who can assume roles in the trusted account from\nborrowing this role through tocsin (the confused deputy problem).",
					"AssumeRolePolicyDocument", obj(
						f("Version", str(policyVersion)),
						f("Statement", list(obj(
							f("Effect", str("Allow")),
							f("Principal", obj(f("AWS", ref(paramPrincipal)))),
							f("Action", str("sts:AssumeRole")),
							f("Condition", obj(f("StringEquals", obj(f("sts:ExternalId", ref(paramExternalID)))))),
						))),
					)),
				f("Policies", list(obj(
					f("PolicyName", str("tocsin-securityhub-write-back")),
					f("PolicyDocument", obj(
						f("Version", str(policyVersion)),
						f("Statement", list(obj(
							f("Sid", str("WriteBack")),
							f("Effect", str("Allow")),
							f("Action", strs(ActionWriteBack)),
							f("Resource", str("*")),
						))),
					)),
				))),
				f("Tags", list(obj(f("Key", str("tocsin:integration")), f("Value", str(p.IntegrationName))))),
			)),
		)),
		fc("Read access for `tocsin aws check` only; tocsin itself never reads findings from the API.",
			idSetupCheckPolicy, obj(
				f("Type", str("AWS::IAM::RolePolicy")),
				f("Condition", str(condSetupCheck)),
				f("Properties", obj(
					f("RoleName", ref(idRole)),
					f("PolicyName", str("tocsin-securityhub-setup-check")),
					f("PolicyDocument", obj(
						f("Version", str(policyVersion)),
						f("Statement", list(obj(
							f("Sid", str("SetupCheck")),
							f("Effect", str("Allow")),
							f("Action", strs(ActionSetupCheck)),
							f("Resource", str("*")),
						))),
					)),
				)),
			)),
	}
}

func roleOutputs(p Params) []field {
	cmd := "tocsin integration update " + shellWord(p.IntegrationName) +
		" --role-arn ${" + idRole + ".Arn} --external-id ${" + paramExternalID + "} --region ${AWS::Region}"
	return []field{
		f("RoleArn", obj(
			f("Description", str("The role tocsin assumes to write alert actions back to Security Hub.")),
			f("Value", getAtt(idRole, "Arn")),
		)),
		f("TocsinCommand", obj(
			f("Description", str(fmt.Sprintf("Run on the tocsin host to write back through this role: tocsin integration update %s --role-arn ROLE_ARN --external-id EXTERNAL_ID --region REGION (or set roleArn, externalId and region in the integration's tocsin apply YAML).", shellWord(p.IntegrationName)))),
			f("Value", sub(cmd)),
		)),
	}
}

func metadata(p Params, scope string) *yaml.Node {
	return obj(f("tocsin", obj(
		f("template", str("securityhub")),
		f("scope", str(scope)),
		f("templateVersion", integer(TemplateVersion)),
		f("integration", str(p.IntegrationName)),
	)))
}

func generatedBy(p Params, flags string) string {
	s := "Generated by `tocsin aws template --integration " + shellWord(p.IntegrationName) + flags + "`"
	if p.ToolVersion != "" {
		s += " (tocsin " + p.ToolVersion + ")"
	}
	return s + ", template version " + strconv.Itoa(TemplateVersion) + "."
}

func comment(lines []string) string {
	return "# " + strings.Join(lines, "\n# ")
}

func mapOrNil(fields []field) *yaml.Node {
	if len(fields) == 0 {
		return nil
	}
	return obj(fields...)
}
