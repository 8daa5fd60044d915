@framework:saef-maf @role:entity_a
Feature: MAF-based SAEF, the SUT as Entity A
  TS-0003 8.2.2.3 as refined by seed 003 (docs/saef-maf.md): Entity A runs a (D)TLS-PSK
  handshake with the MAF (psk_identity = KmID, psk = Km), exports Kc and RelativeKcID
  (EXPORTER-oneM2M-Connection, 48 octets), forms KcID = hex(RelativeKcID)@MAF-FQDN and
  presents it to Entity B, completing with psk = Kc. The harness plays the MAF and
  Entity B; its B knows every Kc its MAF derived, so a completed association proves
  that A derived the same Kc.

  Background:
    Given the SUT plays Entity A of the MAF-based SAEF
    And the harness plays the MAF holding the SUT's KmID and Km, and Entity B

  @TP/SAEF-MAF/A/01
  @SAEF-MAF-02 @SAEF-MAF-04 @SAEF-MAF-09 @SAEF-MAF-10 @SAEF-MAF-11 @PARAM-CCF-06 @PARAM-CCF-08 @PARAM-CCF-09
  Scenario: Entity A runs the MAF handshake with its KmID and Km
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then the MAF handshake used the configured KmID as psk_identity and completed

  @TP/SAEF-MAF/A/02
  @SAEF-MAF-13 @SAEF-MAF-15 @SAEF-MAF-03
  Scenario: Entity A presents to Entity B the KcID formed from the MAF handshake
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then the association's psk_identity is the KcID the harness MAF formed

  @TP/SAEF-MAF/A/03
  @SAEF-MAF-12 @SAEF-MAF-21 @SAEF-MAF-22 @SAEF-COMMON-12
  Scenario: Entity A completes the association with the Kc derived from the MAF handshake
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then the handshake completes with a suite of the profile
    And the SUT reports the association as established
    And the keying material the SUT exports equals the harness's

  @TP/SAEF-MAF/A/04
  @SAEF-MAF-07 @SAEF-MAF-23 @PARAM-CCF-07
  Scenario: Entity A binds the association to the configured IdB
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then the handshake completes
    And the SUT binds the association to the configured IdB

  @TP/SAEF-MAF/A/05
  @SAEF-MAF-14 @SAEF-MAF-26
  Scenario: Entity A runs further associations within the Kc lifetime with the KcID it holds
    Given Entity A is asked for 2 associations
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then every association presents the KcID of the latest MAF handshake and completes

  @TP/SAEF-MAF/A/06
  @SAEF-MAF-27 @SAEF-MAF-14
  Scenario: Entity A runs a fresh MAF handshake when Entity B refuses an expired Kc
    Given Entity A is asked for 2 associations
    And the harness Entity B treats the Kc as expired at association 2
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then after the refusal of association 2 Entity A runs a fresh MAF handshake and completes the retry with the new KcID

  @TP/SAEF-MAF/A/07
  @SAEF-MAF-11 @SBF-COMMON-19
  Scenario: Entity A refuses a MAF holding a wrong Km, and does not contact Entity B
    Given the harness MAF holds the SUT's KmID with a Km with one bit flipped
    And the harness answers even a Finished it cannot verify
    When Entity A obtains Kc from the MAF and runs the association with Entity B
    Then the SUT refuses the handshake with a fatal alert among decrypt_error, bad_record_mac, or over DTLS by discarding the records
    And Entity A does not contact Entity B
