"""The emulated `sam deploy`: create in moto what template.yaml declares, from the template's own properties."""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets as random_secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulated_aws import moto_patches
from emulated_aws.server import EmulatedAws

__all__ = [
    "DEFAULT_STACK_NAME",
    "MEMBER_ROLE_TEMPLATE",
    "Stack",
    "TemplateError",
    "deploy_member_role",
    "deploy_stack",
    "load_template",
]

DEFAULT_STACK_NAME = "endpoint-optimizer"
MEMBER_ROLE_TEMPLATE = Path("docs/member-account-role.yaml")
_PSEUDO_PARAMETERS = ("AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix")
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_ASL_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_HANDLED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Topic",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::SecretsManager::Secret",
    "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine",
)
# What the emulator deliberately does not create, and why (reported on Stack.not_emulated).
_NOT_EMULATED = {
    "AWS::Serverless::LayerVersion": "the layer's package is installed in the venv the handlers run in",
    "AWS::Serverless::HttpApi": "tests hand API Gateway events straight to the function",
    "AWS::Logs::LogGroup": "logs stay in the test process; names and ARNs resolve for the resources that use them",
    "AWS::SNS::Subscription": "no email is delivered; read published messages from the topic",
    "AWS::CloudWatch::Dashboard": "metrics stay EMF lines on the functions' stdout; nothing draws them",
    "AWS::CloudWatch::Alarm": "no alarm evaluates the EMF metrics or the workflow's execution metrics",
    "AWS::KMS::Key": "the topic is created unencrypted; the key's ARN resolves for the policies naming it",
}

_NOT_EMULATED_EVENTS = {
    "ScheduleV2": "EventBridge Scheduler never fires in moto: start executions yourself",
    "Schedule": "EventBridge rules do not deliver in moto: start executions yourself",
    "HttpApi": "invoke the function with an API Gateway v2 event (see emulated_aws.slack)",
}


class TemplateError(RuntimeError):
    """The template holds something the emulated deploy cannot resolve or create."""


@dataclass(frozen=True)
class Stack:
    """What deploy_stack created (physical ids as CloudFormation would report them)."""

    stack_name: str
    region: str
    account_id: str
    parameters: Mapping[str, str]
    table_name: str
    topic_arn: str
    state_machine_arn: str
    apply_state_machine_arn: str
    webhook_secret_arn: str
    signing_secret_arn: str
    artifact_bucket: str
    function_names: Mapping[str, str]
    function_arns: Mapping[str, str] = field(default_factory=dict)
    not_emulated: Mapping[str, str] = field(default_factory=dict)
    _environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The resolved environment variables of a function (Globals merged with its own)."""
        try:
            return dict(self._environments[logical_id])
        except KeyError:
            raise KeyError(
                f"no function {logical_id!r} in the stack ({sorted(self._environments)})"
            ) from None


def load_template(repo_root: Path, relative_path: Path = Path("template.yaml")) -> dict[str, Any]:
    """A template parsed with cfn-lint's loader (understands !Ref, !Sub, !GetAtt...)."""
    from cfnlint.decode import cfn_yaml

    path = Path(repo_root) / relative_path
    if not path.is_file():
        raise TemplateError(f"no template at {path}")
    template: dict[str, Any] = cfn_yaml.load(str(path))
    return template


def deploy_stack(
    aws: EmulatedAws,
    repo_root: Path,
    parameters: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    environment: Mapping[str, Mapping[str, str]] | None = None,
) -> Stack:
    """Create the stack's resources in the emulator and register each function's code with the runner.

    `parameters` override template Defaults (and are checked against AllowedValues, AllowedPattern,
    Min/MaxValue, Min/MaxLength as CloudFormation does); `secrets` maps a Secret's logical id to its value
    (a secret without a value gets a random placeholder, as GenerateSecretString would); `environment`
    sets variables of a function by logical id after the template's (a value the template's parameters
    cannot take, such as RECOMMENDER_POLL_SECONDS=0 so the workflow polls without waiting).
    """
    repo_root = Path(repo_root).resolve()
    template = load_template(repo_root)
    return _Deployment(
        aws,
        repo_root=repo_root,
        template=template,
        stack_name=stack_name,
        parameters=parameters or {},
        secret_values=secrets or {},
        environment=environment or {},
    ).run()


class _Deployment:
    def __init__(
        self,
        aws: EmulatedAws,
        *,
        repo_root: Path,
        template: dict[str, Any],
        stack_name: str,
        parameters: dict[str, str],
        secret_values: dict[str, str],
        account_id: str | None = None,
        environment: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.aws = aws
        self.account_id = account_id or aws.account_id
        self.repo_root = repo_root
        self.template = template
        self.stack_name = stack_name
        self.secret_values = secret_values
        self.environment_overrides = {lid: dict(env) for lid, env in (environment or {}).items()}
        self.resources: dict[str, dict[str, Any]] = dict(template.get("Resources") or {})
        self.parameters = self._resolve_parameters(parameters)
        self.physical_ids: dict[str, str] = {}  # what !Ref gives
        self.attributes: dict[tuple[str, str], str] = {}  # what !GetAtt gives

    # -- parameters ---------------------------------------------------------------------------------
    def _resolve_parameters(self, overrides: dict[str, str]) -> dict[str, str]:
        declared: dict[str, Any] = dict(self.template.get("Parameters") or {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"parameters not declared in the template: {unknown}")
        resolved: dict[str, str] = {}
        for name, spec in declared.items():
            if name in overrides:
                value = str(overrides[name])
            elif "Default" in spec:
                value = _scalar(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default and no value was given")
            _check_parameter(name, spec, value)
            resolved[name] = value
        return resolved

    # -- intrinsic functions ------------------------------------------------------------------------
    def resolve(self, value: Any, where: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return _scalar(value)
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), *_ = value.items()
            if function == "Ref":
                return self._ref(str(argument), where)
            if function == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else list(argument)
                if len(parts) != 2:
                    raise TemplateError(f"{where}: cannot read !GetAtt {argument!r}")
                return self._get_att(str(parts[0]), str(parts[1]), where)
            if function == "Fn::Sub":
                return self._sub(argument, where)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                delimiter, items = argument
                return str(delimiter).join(self.resolve(item, where) for item in items)
        raise TemplateError(f"{where}: the emulated deploy cannot resolve {value!r}")

    def _ref(self, name: str, where: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.aws.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name in self.resources:
            raise TemplateError(
                f"{where}: !Ref {name} used before {name} was created (or it is not emulated)"
            )
        raise TemplateError(f"{where}: !Ref {name} names no parameter or resource")

    def _get_att(self, logical_id: str, attribute: str, where: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(
                f"{where}: !GetAtt {logical_id}.{attribute} is not available in the emulator"
            ) from None

    def _sub(self, argument: Any, where: str) -> str:
        variables: dict[str, str] = {}
        if isinstance(argument, list) and len(argument) == 2:
            text, mapping = argument
            variables = {str(k): self.resolve(v, where) for k, v in dict(mapping).items()}
        elif isinstance(argument, str):
            text = argument
        else:
            raise TemplateError(f"{where}: cannot read !Sub {argument!r}")

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in variables:
                return variables[key]
            if "." in key and not key.startswith("AWS::"):
                logical_id, attribute = key.split(".", 1)
                return self._get_att(logical_id, attribute, where)
            return self._ref(key, where)

        return _SUB_PLACEHOLDER.sub(replace, str(text))

    # -- resources ----------------------------------------------------------------------------------
    def _of_type(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lid, res) for lid, res in self.resources.items() if res.get("Type") == resource_type]

    def _physical_name(self, logical_id: str) -> str:
        digest = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
        return f"{self.stack_name}-{logical_id}-{digest}"

    def run(self) -> Stack:
        not_emulated: dict[str, str] = {}
        for logical_id, resource in self.resources.items():
            resource_type = str(resource.get("Type"))
            if resource_type in _HANDLED_TYPES:
                continue
            if resource_type not in _NOT_EMULATED:
                raise TemplateError(f"resource {logical_id}: type {resource_type} is not emulated")
            not_emulated[logical_id] = f"{resource_type}: {_NOT_EMULATED[resource_type]}"
        for logical_id, resource in self.resources.items():
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                event_type = str(event.get("Type"))
                reason = _NOT_EMULATED_EVENTS.get(event_type, "not emulated")
                not_emulated[f"{logical_id}.Events.{event_name}"] = f"{event_type}: {reason}"

        for logical_id, resource in self._of_type("AWS::DynamoDB::Table"):
            self._create_table(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::S3::Bucket"):
            self._create_bucket(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::S3::BucketPolicy"):
            self._put_bucket_policy(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::SNS::Topic"):
            self._create_topic(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::Scheduler::ScheduleGroup"):
            # Night parking's group (its schedules are created by the apply function; moto never fires them).
            name = self.resolve((resource.get("Properties") or {}).get("Name"), logical_id)
            arn = self.aws.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
            self.physical_ids[logical_id] = name
            self.attributes[(logical_id, "Arn")] = arn
        for logical_id, resource in self._of_type("AWS::SecretsManager::Secret"):
            self._create_secret(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::IAM::Role"):
            self._create_role(logical_id, resource.get("Properties") or {})
        for logical_id, resource in self._of_type("AWS::Logs::LogGroup"):
            # not created, but its Arn is referenced (state machine logging)
            name = self.resolve((resource.get("Properties") or {}).get("LogGroupName"), logical_id)
            self.physical_ids[logical_id] = name
            self.attributes[(logical_id, "Arn")] = (
                f"arn:aws:logs:{self.aws.region}:{self.aws.account_id}:log-group:{name}:*"
            )
        for logical_id, _resource in self._of_type("AWS::KMS::Key"):
            # not created, but its Arn is referenced (the notify function's kms grant); Ref is its key id
            key_id = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:32]
            self.physical_ids[logical_id] = key_id
            self.attributes[(logical_id, "Arn")] = (
                f"arn:aws:kms:{self.aws.region}:{self.aws.account_id}:key/{key_id}"
            )
        for logical_id, _resource in self._of_type("AWS::Serverless::HttpApi"):
            self.physical_ids[logical_id] = hashlib.sha256(logical_id.encode()).hexdigest()[:10]

        functions = self._of_type("AWS::Serverless::Function")
        unknown = sorted(set(self.environment_overrides) - {lid for lid, _ in functions})
        if unknown:
            raise TemplateError(f"environment given for functions the template does not declare: {unknown}")
        environments: dict[str, dict[str, str]] = {}
        for logical_id, resource in functions:
            environments[logical_id] = self._create_function(logical_id, resource.get("Properties") or {})

        # A machine that starts another (the optimize workflow starts the apply workflow) names it in its
        # DefinitionSubstitutions: create the one it names first.
        pending = dict(self._of_type("AWS::Serverless::StateMachine"))
        while pending:
            ready = [
                logical_id
                for logical_id, resource in pending.items()
                if not any(
                    other
                    in json.dumps((resource.get("Properties") or {}).get("DefinitionSubstitutions") or {})
                    for other in pending
                    if other != logical_id
                )
            ]
            if not ready:
                raise TemplateError(f"state machines name each other: {sorted(pending)}")
            for logical_id in ready:
                self._create_state_machine(logical_id, pending.pop(logical_id))
        state_machine_arn = one_machine = self.physical_ids.get("OptimizeStateMachine", "")
        if not one_machine:
            raise TemplateError("the template declares no AWS::Serverless::StateMachine OptimizeStateMachine")

        def one(resource_type: str, logical_id: str) -> str:
            if logical_id not in self.physical_ids:
                raise TemplateError(f"the template declares no {resource_type} {logical_id}")
            return self.physical_ids[logical_id]

        return Stack(
            stack_name=self.stack_name,
            region=self.aws.region,
            account_id=self.aws.account_id,
            parameters=dict(self.parameters),
            table_name=one("AWS::DynamoDB::Table", "StateTable"),
            topic_arn=one("AWS::SNS::Topic", "NotificationTopic"),
            state_machine_arn=state_machine_arn,
            apply_state_machine_arn=self.physical_ids.get("ApplyStateMachine", ""),
            webhook_secret_arn=one("AWS::SecretsManager::Secret", "SlackWebhookSecret"),
            signing_secret_arn=one("AWS::SecretsManager::Secret", "SlackSigningSecret"),
            artifact_bucket=one("AWS::S3::Bucket", "ArtifactBucket"),
            function_names={lid: self.physical_ids[lid] for lid, _ in functions},
            function_arns={lid: self.attributes[(lid, "Arn")] for lid, _ in functions},
            not_emulated=not_emulated,
            _environments=environments,
        )

    def _create_table(self, logical_id: str, props: dict[str, Any]) -> None:
        ddb = self.aws.client("dynamodb")
        name = self.resolve(props["TableName"], logical_id) if "TableName" in props else None
        name = name or self._physical_name(logical_id)
        billing = str(props.get("BillingMode", "PROVISIONED"))
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [dict(k) for k in props["KeySchema"]],
            "AttributeDefinitions": [dict(a) for a in props["AttributeDefinitions"]],
            "BillingMode": billing,
        }
        if billing != "PAY_PER_REQUEST":
            request["ProvisionedThroughput"] = dict(props["ProvisionedThroughput"])
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if index_kind in props:
                request[index_kind] = json.loads(json.dumps(props[index_kind]))
        description = ddb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": str(ttl["AttributeName"]), "Enabled": True},
            )
        self.physical_ids[logical_id] = name
        self.attributes[(logical_id, "Arn")] = description["TableArn"]

    def _create_bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        """The bucket with the settings the template gives (encryption, public access, lifecycle...)."""
        handled = {
            "BucketName",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "LifecycleConfiguration",
            "VersioningConfiguration",
        }
        unknown = sorted(set(props) - handled)
        if unknown:
            raise TemplateError(f"{logical_id}: bucket properties not emulated: {unknown}")
        s3 = self.aws.client("s3")
        name = self.resolve(props["BucketName"], logical_id) if "BucketName" in props else None
        name = name or self._physical_name(logical_id).lower()  # CloudFormation: lower case, <= 63
        s3.create_bucket(Bucket=name)
        if "BucketEncryption" in props:
            rules = [
                {"ApplyServerSideEncryptionByDefault": _plain(rule["ServerSideEncryptionByDefault"])}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=_plain(props["PublicAccessBlockConfiguration"])
            )
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=_plain(props["OwnershipControls"])
            )
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=_plain(props["VersioningConfiguration"])
            )
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
                },
            )
        self.physical_ids[logical_id] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"

    def _put_bucket_policy(self, logical_id: str, props: dict[str, Any]) -> None:
        bucket = self.resolve(props["Bucket"], f"{logical_id}.Bucket")
        document = self._resolve_document(props["PolicyDocument"], f"{logical_id}.PolicyDocument")
        self.aws.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
        self.physical_ids[logical_id] = bucket

    def _resolve_document(self, value: Any, where: str) -> Any:
        """A JSON document (IAM or bucket policy) with every intrinsic function resolved."""
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return self.resolve(value, where)
        if isinstance(value, dict):
            return {str(k): self._resolve_document(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_document(item, where) for item in value]
        return value

    def create_iam_roles(self) -> dict[str, str]:
        """Create the template's IAM roles (the only type a member-account template may hold)."""
        others = sorted({str(r.get("Type")) for r in self.resources.values()} - {"AWS::IAM::Role"})
        if others:
            raise TemplateError(f"a member-account template holds only AWS::IAM::Role, found {others}")
        for logical_id, resource in self._of_type("AWS::IAM::Role"):
            self._create_role(logical_id, resource.get("Properties") or {})
        return {lid: self.attributes[(lid, "Arn")] for lid, _ in self._of_type("AWS::IAM::Role")}

    def _create_role(self, logical_id: str, props: dict[str, Any]) -> None:
        """An IAM role with its trust and inline policies, intrinsic functions resolved (moto keeps them;
        it does not enforce them)."""
        iam = self.aws.client("iam", account_id=self.account_id)
        name = self.resolve(props["RoleName"], logical_id) if "RoleName" in props else None
        name = name or self._physical_name(logical_id)[:64]
        trust = self._resolve_document(props["AssumeRolePolicyDocument"], f"{logical_id}.Trust")
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=int(props.get("MaxSessionDuration", 3600)),
            Description=str(props.get("Description", "")),
        )["Role"]
        for policy in props.get("Policies") or []:
            document = self._resolve_document(policy["PolicyDocument"], f"{logical_id}.Policies")
            iam.put_role_policy(
                RoleName=name,
                PolicyName=self.resolve(policy["PolicyName"], logical_id),
                PolicyDocument=json.dumps(document),
            )
        self.physical_ids[logical_id] = name
        self.attributes[(logical_id, "Arn")] = role["Arn"]

    def _create_topic(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self.resolve(props["TopicName"], logical_id) if "TopicName" in props else None
        attributes = (
            {"DisplayName": self.resolve(props["DisplayName"], logical_id)} if "DisplayName" in props else {}
        )
        arn = self.aws.client("sns").create_topic(
            Name=name or self._physical_name(logical_id), Attributes=attributes
        )["TopicArn"]
        self.physical_ids[logical_id] = arn
        self.attributes[(logical_id, "TopicArn")] = arn
        self.attributes[(logical_id, "TopicName")] = arn.rsplit(":", 1)[1]

    def _create_secret(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self.resolve(props["Name"], logical_id) if "Name" in props else None
        if logical_id in self.secret_values:
            value = self.secret_values[logical_id]
        elif "SecretString" in props:
            value = self.resolve(props["SecretString"], logical_id)
        else:  # GenerateSecretString: a random placeholder
            value = random_secrets.token_urlsafe(24)
        arn = self.aws.client("secretsmanager").create_secret(
            Name=name or f"{logical_id}-{self._physical_name(logical_id)[-12:]}", SecretString=value
        )["ARN"]
        self.physical_ids[logical_id] = arn
        self.attributes[(logical_id, "Id")] = arn

    def _create_function(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        globals_ = dict((self.template.get("Globals") or {}).get("Function") or {})

        def setting(key: str, default: Any = None) -> Any:
            return props.get(key, globals_.get(key, default))

        code_uri = props.get("CodeUri", globals_.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        code_dir = (self.repo_root / code_uri).resolve()
        handler = str(setting("Handler", "app.handler"))
        handler_file = handler.rpartition(".")[0].replace(".", "/") + ".py"
        if not (code_dir / handler_file).is_file():
            raise TemplateError(f"{logical_id}: handler file {code_dir / handler_file} does not exist")

        variables: dict[str, Any] = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **((props.get("Environment") or {}).get("Variables") or {}),
        }
        environment = {
            str(k): self.resolve(v, f"{logical_id}.Environment.Variables.{k}") for k, v in variables.items()
        }
        environment.update(self.environment_overrides.get(logical_id, {}))

        if "LoggingConfig" in props:  # moto keeps no LoggingConfig: check it names a log group of the stack
            log_group = self.resolve(props["LoggingConfig"].get("LogGroup"), f"{logical_id}.LoggingConfig")
            declared = {self.physical_ids.get(lid) for lid, _ in self._of_type("AWS::Logs::LogGroup")}
            if log_group not in declared:
                raise TemplateError(
                    f"{logical_id}: LoggingConfig.LogGroup {log_group!r} is no log group of the stack"
                )
        name = self.resolve(props["FunctionName"], logical_id) if "FunctionName" in props else None
        name = name or f"{self.stack_name}-{logical_id}"
        role_arn = self.aws.client("iam").create_role(
            RoleName=f"{self.stack_name}-{logical_id}Role"[:64],
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.write(code_dir / handler_file, handler_file)
        created = self.aws.client("lambda").create_function(
            FunctionName=name,
            Runtime=str(setting("Runtime", "python3.12")),
            Architectures=[str(a) for a in setting("Architectures", ["x86_64"])],
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": archive.getvalue()},
            Timeout=int(setting("Timeout", 3)),
            MemorySize=int(setting("MemorySize", 128)),
            Environment={"Variables": environment},
            Description=str(props.get("Description", "")),
        )
        moto_patches.register_function_source(name, code_dir)
        self.physical_ids[logical_id] = name
        self.attributes[(logical_id, "Arn")] = created["FunctionArn"]
        return environment

    def _create_state_machine(self, logical_id: str, resource: dict[str, Any]) -> str:
        props = resource.get("Properties") or {}
        if "DefinitionUri" not in props or not isinstance(props["DefinitionUri"], str):
            raise TemplateError(f"{logical_id}: only a local DefinitionUri file is emulated")
        definition_path = self.repo_root / props["DefinitionUri"]
        if not definition_path.is_file():
            raise TemplateError(f"{logical_id}: definition file {definition_path} does not exist")
        substitutions = {
            str(k): self.resolve(v, f"{logical_id}.DefinitionSubstitutions.{k}")
            for k, v in (props.get("DefinitionSubstitutions") or {}).items()
        }
        text = definition_path.read_text()
        missing = sorted(set(_ASL_PLACEHOLDER.findall(text)) - set(substitutions))
        if missing:
            raise TemplateError(
                f"{logical_id}: {definition_path.name} uses ${{...}} with no substitution: {missing}"
            )
        definition = _ASL_PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)
        json.loads(definition)  # fail here, not in moto, if the substituted text is not JSON
        name = self.resolve(props["Name"], logical_id) if "Name" in props else self._physical_name(logical_id)
        role_arn = self.aws.client("iam").create_role(
            RoleName=f"{self.stack_name}-{logical_id}Role"[:64],
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        arn: str = self.aws.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=role_arn,
            type=str(props.get("Type", "STANDARD")),
        )["stateMachineArn"]
        self.physical_ids[logical_id] = arn
        self.attributes[(logical_id, "Arn")] = arn
        self.attributes[(logical_id, "Name")] = name
        return arn


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_scalar(v) for v in allowed]:
        raise TemplateError(f"parameter {name}={value!r} is not one of {list(allowed)}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
    if str(spec.get("Type")) == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}={value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}={value} is above MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name}={value!r} is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise TemplateError(f"parameter {name}={value!r} is longer than MaxLength {spec['MaxLength']}")


def deploy_member_role(
    aws: EmulatedAws,
    repo_root: Path,
    *,
    account_id: str,
    parameters: dict[str, str],
    stack_name: str = "endpoint-optimizer-member",
) -> str:
    """The emulated StackSet instance: docs/member-account-role.yaml deployed in member `account_id`.

    `parameters` are checked against the template as CloudFormation does. Returns the role's ARN.
    """
    repo_root = Path(repo_root).resolve()
    deployment = _Deployment(
        aws,
        repo_root=repo_root,
        template=load_template(repo_root, MEMBER_ROLE_TEMPLATE),
        stack_name=stack_name,
        parameters=parameters,
        secret_values={},
        account_id=account_id,
    )
    (arn,) = deployment.create_iam_roles().values()
    return arn


def _plain(value: Any) -> Any:
    """A template property as the S3 API takes it (the same shape, minus cfn-lint's node types)."""
    return json.loads(json.dumps(value))


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the PutBucketLifecycleConfiguration shape."""
    converted: dict[str, Any] = {
        "ID": str(rule["Id"]),
        "Status": str(rule["Status"]),
        "Filter": {"Prefix": str(rule.get("Prefix", ""))},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    unknown = sorted(
        set(rule) - {"Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload"}
    )
    if unknown:
        raise TemplateError(f"lifecycle rule {rule['Id']}: properties not emulated: {unknown}")
    return converted
