@framework:saef-maf @role:entity_b
Feature: MAF-based SAEF, the SUT as Entity B
  TS-0003 8.2.2.3 as refined by seed 003 (docs/saef-maf.md): Entity B receives a KcID
  as psk_identity, finds the MAF by its FQDN part, retrieves Kc, its lifetime and KmID
  (and A's identity when the MAF has it) over the suite's key-retrieval binding (I-09)
  before its Finished, completes with psk = Kc, and binds the association to the
  identity the MAF passed or to the Credential-ID "11-" + KmID. The harness plays
  Entity A and the MAF, whose answers (expiry, refusal, identity) the test controls.

  Background:
    Given the SUT plays Entity B of the MAF-based SAEF
    And the harness plays the MAF that Entity B trusts, holding a Kc issued to Entity A for B
    And the harness plays Entity A presenting that KcID and Kc

  @TP/SAEF-MAF/B/01
  @SAEF-MAF-16 @SAEF-MAF-17 @SAEF-MAF-18 @SAEF-MAF-21 @SAEF-MAF-22
  Scenario: Entity B retrieves each Kc from the MAF during the handshake and completes with it
    Given the harness Entity A then runs a second association with another Kc of the MAF
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then Entity B retrieved each Kc from the MAF during the handshake
    And every association completes
    And the SUT reports the association as established
    And the keying material the SUT exports equals the harness's

  @TP/SAEF-MAF/B/02
  @SAEF-MAF-24 @SAEF-MAF-19
  Scenario: Entity B binds the association to the identity the MAF passed for Entity A
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the handshake completes
    And the SUT binds the association to the identity the MAF passed for Entity A

  @TP/SAEF-MAF/B/03
  @SAEF-MAF-25
  Scenario: Entity B binds the association to the Credential-ID of the KmID when the MAF passes no identity
    Given the harness MAF holds no identity for Entity A
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the handshake completes
    And the SUT binds the association to the Credential-ID "11-" + KmID

  @TP/SAEF-MAF/B/04
  @SAEF-MAF-27 @SAEF-MAF-20
  Scenario: Entity B fails the handshake when the Kc lifetime has expired
    Given the harness MAF answers with an expirationTime in the past
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, handshake_failure, access_denied
    And the SUT establishes no association

  @TP/SAEF-MAF/B/05
  @SAEF-MAF-17 @SAEF-MAF-21
  Scenario: Entity B refuses a KcID the MAF does not know, even after a key was retrieved for another
    Given the harness Entity A then presents a KcID the MAF never issued, with the same Kc
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, handshake_failure, access_denied
    And the SUT establishes no association

  @TP/SAEF-MAF/B/06
  @SAEF-MAF-17 @SAEF-MAF-16
  Scenario: Entity B refuses a KcID that names a MAF it does not trust
    Given the harness Entity A presents the KcID with the FQDN of another MAF
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, handshake_failure, access_denied
    And Entity B does not ask the MAF for another MAF's key

  @TP/SAEF-MAF/B/07
  @SAEF-MAF-21
  Scenario: Entity B refuses Entity A holding a wrong Kc
    Given the harness Entity A uses a Kc with one bit flipped
    When Entity A runs the association with Entity B, which retrieves Kc from the MAF
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, decrypt_error, or over DTLS by discarding the records
    And the SUT establishes no association
