"""gRPC `lfr.keys.v1.DataKeys`: hands per-deployment data keys to ingest, inference, alerts and watchlists,
and destroys them for retention. Errors map to status codes the clients translate:
NOT_FOUND (unknown deployment), FAILED_PRECONDITION (destroyed), INVALID_ARGUMENT (unknown data class),
PERMISSION_DENIED (a data class `lfr_platform.grpc_policy.DATA_KEY_CLASSES` does not grant the caller).

Key material is never logged. TODO(issue 9): the server is plaintext on 127.0.0.1 in embedded mode;
`tls_port_credentials` is the hook for mTLS from `settings.grpc_tls` once the runtime accepts credentials.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from lfr_platform.crypto import DataClass, KeyDestroyed
from lfr_platform.errors import InvalidInput, LfrError, NotFound
from lfr_platform.grpc_authorization import verified_caller
from lfr_platform.grpc_policy import may_get_data_key
from lfr_platform.runtime import GrpcRegistrar
from lfr_platform.settings import TlsSettings
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from lfr_deployments.app.data_keys import DataKeys

SERVICE_NAME = "lfr.keys.v1.DataKeys"
_DATA_CLASSES = frozenset(DataClass)
log = logging.getLogger(__name__)


class DataKeysServicer(keys_pb2_grpc.DataKeysServicer):
    def __init__(self, keys: DataKeys) -> None:
        self._keys = keys

    async def GetDataKey(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802
        caller = verified_caller()  # None: plaintext development, nobody to check (as for methods)
        known = request.data_class in _DATA_CLASSES  # an unknown one is INVALID_ARGUMENT, below
        if caller is not None and known and not may_get_data_key(caller, request.data_class):
            log.warning(
                "data key refused: caller=%s data_class=%s deployment_id=%s",
                caller,
                request.data_class,
                request.deployment_id,
            )
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"the {caller} service may not get {request.data_class} data keys "
                "(allow-list: lfr_platform.grpc_policy.DATA_KEY_CLASSES)",
            )
        try:
            kid, key = await self._keys.get(request.deployment_id, request.data_class)
        except LfrError as error:
            await _abort(context, error)
        return keys_pb2.DataKey(key_id=kid, key=key)

    async def DestroyDataKey(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802
        if not request.actor.strip() or not request.role.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "DestroyDataKey names the actor and role responsible (audit trail)")
        try:
            destroyed, kid = await self._keys.destroy(
                request.deployment_id, request.data_class, actor=request.actor, role=request.role,
                reason=request.reason)
        except LfrError as error:
            await _abort(context, error)
        return keys_pb2.DestroyDataKeyResponse(destroyed=destroyed, key_id=kid)


async def _abort(context: grpc.aio.ServicerContext, error: LfrError) -> None:
    if isinstance(error, KeyDestroyed):
        status = grpc.StatusCode.FAILED_PRECONDITION
        message = f"destroyed: {error.message}"
    elif isinstance(error, NotFound) or error.http_status == 404:
        status, message = grpc.StatusCode.NOT_FOUND, error.message
    elif isinstance(error, InvalidInput):
        status, message = grpc.StatusCode.INVALID_ARGUMENT, error.message
    else:
        status, message = grpc.StatusCode.FAILED_PRECONDITION, f"{error.code}: {error.message}"
    await context.abort(status, message)


def data_keys_registrar(keys: DataKeys) -> GrpcRegistrar:
    def register(server: grpc.aio.Server) -> None:
        keys_pb2_grpc.add_DataKeysServicer_to_server(DataKeysServicer(keys), server)

    return register


def tls_port_credentials(tls: TlsSettings) -> grpc.ServerCredentials | None:
    """TODO(issue 9): pass to the runtime's `add_secure_port` when TLS is configured."""
    return tls.server_credentials() if tls.enabled else None
