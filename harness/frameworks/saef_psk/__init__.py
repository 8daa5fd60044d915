"""The Pre-Provisioned Symmetric Key SAEF (TS-0003 8.2.2.1): Entity A and Entity B
share Kpsa and KpsaId and run one (D)TLS-PSK handshake."""

from harness.frameworks.saef_psk import ixit
from harness.frameworks.spec import FrameworkSpec
from harness.sut.contract import Framework, Role

SPEC = FrameworkSpec(
    framework=Framework.SAEF_PSK,
    title="Pre-provisioned symmetric key SAEF (TS-0003 8.2.2.1)",
    sut_roles=(Role.ENTITY_A, Role.ENTITY_B),
    steps="harness.frameworks.saef_psk.steps",
    ixit={Role.ENTITY_A: ixit.entity_a, Role.ENTITY_B: ixit.entity_b},
    reference="harness.frameworks.saef_psk.reference",
    legacy_ixit_tables=(Role.ENTITY_A, Role.ENTITY_B),
)
