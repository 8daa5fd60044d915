@framework:sbf-psk @role:mef
Feature: Pre-provisioned symmetric enrolee key SBF, the SUT as MEF
  Seed 001 8.3.1 and 8.3.2.1, TS-0003 8.3.2.1 (docs/sbf-psk.md): the MEF runs the
  (D)TLS-PSK bootstrap with the Enrolee, exports Ke and KeID, and later releases Km to the
  one MAF configured for that Enrolee, on RETRIEVE /fetchCredentials/<KeID>/21. The
  harness plays the Enrolee (so it knows Ke and the Km the MEF must release) and the MAF.

  Background:
    Given the SUT plays the MEF of the enrolee-key SBF
    And the harness plays the Enrolee with the KpmId and Kpm of enrolee 1, and its MAF

  @TP/SBF-PSK/MEF/01
  @SBF-PSK-08 @SBF-PSK-09 @SBF-PSK-10 @SBF-PSK-11 @SBF-PSK-12 @SBF-PSK-07
  Scenario: The MEF completes the bootstrap and exports Ke and KeID as the Enrolee does
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the bootstrap completes with a suite of the profile
    And what the SUT reports of the bootstrap matches the harness's Ke and KeID

  @TP/SBF-PSK/MEF/02
  @SBF-PSK-09 @SBF-COMMON-21
  Scenario Outline: The MEF refuses an unknown or malformed KpmId
    Given the harness Enrolee presents a KpmId <identity>
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the SUT refuses the handshake with a fatal alert among unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure

    Examples:
      | identity                               |
      | the MEF does not know                  |
      | of enrolee 1 without its "@" FQDN part |

  @TP/SBF-PSK/MEF/03
  @SBF-PSK-10 @SBF-COMMON-21
  Scenario: The MEF refuses an Enrolee with a wrong Kpm
    Given the harness Enrolee uses a Kpm with one bit flipped
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, decrypt_error, or over DTLS by discarding the records

  @TP/SBF-PSK/MEF/04
  @SBF-COMMON-16 @SBF-COMMON-17 @SBF-PSK-06 @SBF-PSK-13 @SBF-PSK-14 @SBF-COMMON-15
  Scenario: The MEF releases to the configured MAF the Km derived from Ke, with the Enrolee-ID and the lifetime
    Given the harness MAF fetches the credential for the bootstrap's KeID
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the MEF releases the Km the harness derived, the configured Enrolee-ID and the configured lifetime

  @TP/SBF-PSK/MEF/05
  @SBF-PSK-06 @SBF-COMMON-16
  Scenario Outline: The MEF releases Km only to the MAF configured for the Enrolee
    Given <requester> fetches the credential for the bootstrap's KeID
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the MEF refuses that fetch with HTTP <statuses>

    Examples:
      | requester                                                    | statuses |
      | another authenticated MAF                                    | 403      |
      | another authenticated MAF claiming the configured MAF-ID     | 403      |
      | a requester with a wrong fetch key                           | 403      |

  @TP/SBF-PSK/MEF/06
  @SBF-COMMON-20 @SBF-COMMON-16
  Scenario: The MEF refuses a KeID it never issued
    Given the harness MAF fetches the credential for a KeID the MEF never issued
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the MEF refuses that fetch with HTTP 404

  @TP/SBF-PSK/MEF/07 @transport:tls
  @SBF-COMMON-21 @SBF-COMMON-17
  Scenario: The MEF no longer releases a credential whose lifetime has passed
    Given the harness MAF fetches the credential for the bootstrap's KeID once its configured lifetime has passed
    When the Enrolee bootstraps with the MEF and its MAF fetches the credential
    Then the MEF refuses that fetch with HTTP 404
