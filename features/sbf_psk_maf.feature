@framework:sbf-psk @role:maf
Feature: Pre-provisioned symmetric enrolee key SBF, the SUT as the MAF provisioned remotely
  Seed 001 8.3.1.2 (docs/sbf-psk.md): a MAF that receives a KeID it does not know fetches
  Km and the Enrolee-ID from the MEF the KeID names, completes the handshake with that
  Km, stores it under KeID and KmID, and afterwards accepts either without contacting the
  MEF again. The harness plays the Enrolee (after a bootstrap with the harness MEF) and
  the MEF; a completed handshake proves that the MAF used the Km the MEF released.

  Background:
    Given the SUT plays the MAF of the enrolee-key SBF
    And the harness plays the MEF holding a Ke for the SUT's provisioned entity, and that Enrolee

  @TP/SBF-PSK/MAF/01
  @SBF-COMMON-13 @SBF-COMMON-15 @SBF-COMMON-01 @SBF-COMMON-03 @PARAM-CCM-07 @PARAM-CCF-12
  Scenario: The MAF fetches Km for an unknown KeID from the MEF the KeID names
    When the Enrolee contacts the MAF
    Then the MAF fetched the KeID from the harness MEF as its MAF-ID, during the handshake

  @TP/SBF-PSK/MAF/02
  @SBF-COMMON-18 @SBF-COMMON-19 @SBF-COMMON-17 @SBF-COMMON-07
  Scenario: The MAF completes the handshake with the fetched Km and binds the Enrolee-ID
    When the Enrolee contacts the MAF
    Then the first MAF handshake completes with the Km the harness derived
    And the SUT binds the association to the Enrolee-ID the MEF gave

  @TP/SBF-PSK/MAF/03
  @SBF-COMMON-14 @SBF-COMMON-20
  Scenario Outline: The MAF accepts KeID or KmID after the first contact without fetching again
    Given the Enrolee contacts the MAF again presenting its <identifier>
    When the Enrolee contacts the MAF
    Then MAF handshake 2 names the provisioned Km by KmID or KeID and completes
    And the MAF fetched only once

    Examples:
      | identifier |
      | KeID       |
      | KmID       |

  @TP/SBF-PSK/MAF/04
  @SBF-COMMON-20 @SBF-COMMON-19
  Scenario Outline: The MAF refuses a KeID the MEF refuses
    Given the harness MEF answers every fetch with HTTP <status>
    When the Enrolee contacts the MAF
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure

    Examples:
      | status |
      | 404    |
      | 403    |

  @TP/SBF-PSK/MAF/05
  @SBF-COMMON-15 @SBF-COMMON-13
  Scenario: The MAF refuses a KeID naming a MEF it does not trust, without fetching
    Given the Enrolee presents a KeID naming another MEF
    When the Enrolee contacts the MAF
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure
    And the MAF did not fetch, because the KeID names an untrusted MEF

  @TP/SBF-PSK/MAF/06
  @SBF-COMMON-19
  Scenario: The MAF refuses an Enrolee using a wrong Km
    Given the harness Enrolee uses a Km with one bit flipped
    When the Enrolee contacts the MAF
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, decrypt_error, or over DTLS by discarding the records
