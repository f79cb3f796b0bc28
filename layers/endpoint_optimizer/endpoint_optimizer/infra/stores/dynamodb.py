"""What every DynamoDB store of the state table shares: the client, the table, reading a partition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def condition_failed(error: ClientError) -> bool:
    """The write's ConditionExpression was false: the store says what that means, in its own words."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoDBStore:
    """A store on the state table. The stores share one constructor, so the facade (table.py) can be
    all of them at once."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name

    def _get_body(self, key: dict[str, Any]) -> str | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return item["body"]["S"] if item else None

    def _query(self, pk: str, *, newest_first: bool = False, limit: int | None = None) -> list[str]:
        """The bodies of the partition's items, in sort-key order (all pages, or the first `limit`)."""
        bodies: list[str] = []
        request: dict[str, object] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if limit is not None:
            request["Limit"] = limit
        while True:
            page = self._dynamodb.query(**request)  # type: ignore[arg-type]
            bodies.extend(item["body"]["S"] for item in page.get("Items", []))
            if limit is not None and len(bodies) >= limit:
                return bodies[:limit]
            if "LastEvaluatedKey" not in page:
                return bodies
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
