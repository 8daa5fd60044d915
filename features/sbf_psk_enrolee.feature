@framework:sbf-psk @role:enrolee
Feature: Pre-provisioned symmetric enrolee key SBF, the SUT as Enrolee
  Seed 001 8.3.1 and 8.3.2.1 (docs/sbf-psk.md): the Enrolee runs a (D)TLS-PSK bootstrap
  with the MEF (psk_identity = KpmId, psk = Kpm), exports Ke and RelativeKeID
  (EXPORTER-oneM2M-Bootstrap, 48 octets), forms KeID = hex(RelativeKeID)@MEF-FQDN,
  derives Km = HMAC-SHA-256(Ke, label || MAF-ID) and presents KeID to the MAF. The
  harness plays the MEF and the MAF; its MAF derives Km from the Ke its MEF exported, so
  a completed MAF handshake proves that the Enrolee derived the same Ke and Km.

  Background:
    Given the SUT plays the Enrolee of the enrolee-key SBF
    And the harness plays the MEF holding the SUT's KpmId and Kpm, and the MAF

  @TP/SBF-PSK/ENR/01
  @SBF-PSK-08 @SBF-PSK-09 @SBF-PSK-10 @SBF-PSK-11 @SBF-PSK-03 @SBF-PSK-01 @SBF-PSK-02 @SBF-COMMON-05 @SBF-COMMON-08
  Scenario: The Enrolee bootstraps with its KpmId and Kpm at the MEF
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the bootstrap used the configured KpmId as psk_identity and completed with a suite of the profile
    And the Enrolee sent the MEF's FQDN as server_name in the bootstrap

  @TP/SBF-PSK/ENR/02
  @SBF-PSK-12 @SBF-PSK-13 @SBF-PSK-15 @SBF-COMMON-09 @SBF-COMMON-12
  Scenario: The Enrolee presents to the MAF the KeID formed from the bootstrap
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the first MAF handshake presents the KeID the harness MEF formed
    And what the SUT reports of the bootstrap matches the harness's Ke and KeID

  @TP/SBF-PSK/ENR/03
  @SBF-COMMON-10 @SBF-COMMON-19 @SBF-COMMON-02 @SBF-COMMON-06 @SBF-PSK-04 @SBF-PSK-05
  Scenario: The Enrolee completes the MAF handshake with the Km derived from Ke and the MAF-ID
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the first MAF handshake completes with the Km the harness derived
    And the Enrolee sent the MAF's FQDN as server_name in the MAF handshake

  @TP/SBF-PSK/ENR/04
  @SBF-COMMON-11 @SBF-COMMON-20 @SBF-PSK-14
  Scenario: The Enrolee contacts the MAF again with the stored Km, without a new bootstrap
    Given the Enrolee is asked for 2 MAF handshakes
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then MAF handshake 2 names the provisioned Km by KmID or KeID and completes

  @TP/SBF-PSK/ENR/05
  @SBF-PSK-10 @SBF-COMMON-21
  Scenario: The Enrolee refuses a MEF holding a wrong Kpm, and does not contact the MAF
    Given the harness MEF holds the SUT's KpmId with a Kpm with one bit flipped
    And the harness answers even a Finished it cannot verify
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the SUT refuses the handshake with a fatal alert among decrypt_error, bad_record_mac, or over DTLS by discarding the records
    And the Enrolee does not contact the MAF

  @TP/SBF-PSK/ENR/06
  @SBF-COMMON-06 @SBF-COMMON-10
  Scenario: The Enrolee's Km is bound to its MAF-ID: a MAF holding the Km of another MAF-ID fails
    Given the harness MAF derives Km with another MAF-ID
    And the harness answers even a Finished it cannot verify
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the SUT refuses the handshake with a fatal alert among decrypt_error, bad_record_mac, or over DTLS by discarding the records

  @TP/SBF-PSK/ENR/07
  @SBF-COMMON-10 @SBF-PSK-04
  Scenario: The Enrolee normalises a MAF-ID in compatibility characters (NFKC) before deriving Km
    Given the Enrolee's MAF-ID is configured in fullwidth compatibility characters
    When the Enrolee bootstraps with the MEF and contacts the MAF
    Then the first MAF handshake completes with the Km the harness derived
