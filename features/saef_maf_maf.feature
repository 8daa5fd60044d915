@framework:saef-maf @role:maf
Feature: MAF-based SAEF, the SUT as the MAF
  TS-0003 8.2.2.3 as refined by seed 003 (docs/saef-maf.md): the MAF runs a (D)TLS-PSK
  handshake with Entity A keyed by KmID and Km, derives Kc and KcID from it exactly as
  A does, and releases Kc, its lifetime and KmID (and A's identity when configured)
  only to the Entity B the Kc was issued for, over the suite's key-retrieval binding
  (I-09). The harness plays Entity A and Entity B; the harness B's retrieval of the Kc
  the harness A derived proves the MAF's derivation.

  Background:
    Given the SUT plays the MAF of the MAF-based SAEF
    And the harness plays Entity A with the KmID and Km of authorized entity 1, and Entity B as the key-retrieval client authorised for it

  @TP/SAEF-MAF/MAF/01
  @SAEF-MAF-09 @SAEF-MAF-11 @SAEF-MAF-12 @SAEF-MAF-14 @SAEF-MAF-18 @SAEF-MAF-20 @PARAM-CCM-01 @PARAM-CCM-03 @PARAM-CCM-04
  Scenario: The MAF releases to Entity B the Kc derived from the MAF handshake, with KmID and lifetime
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the handshake completes
    And the MAF releases the Kc derived from the MAF handshake, with the KmID and its lifetime

  @TP/SAEF-MAF/MAF/02
  @SAEF-MAF-13
  Scenario: The MAF forms the KcID from the RelativeKcID and its FQDN
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the KcID the SUT formed equals the harness's

  @TP/SAEF-MAF/MAF/03
  @SAEF-MAF-19 @PARAM-CCM-02
  Scenario: The MAF passes Entity A's configured identity to Entity B
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the MAF passes Entity A's configured identity to Entity B

  @TP/SAEF-MAF/MAF/04
  @SAEF-MAF-08 @SAEF-MAF-16 @PARAM-ACM-01
  Scenario Outline: The MAF releases Kc only to the authenticated Entity B it was issued for
    Given the key retrieval comes from <requester>
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the MAF releases no Kc

    Examples:
      | requester |
      | another Entity B than the authorised one |
      | a requester with a wrong key-retrieval key |

  @TP/SAEF-MAF/MAF/05
  @SAEF-MAF-03 @SAEF-MAF-10 @SAEF-MAF-11 @PARAM-CCM-04
  Scenario Outline: The MAF refuses a MAF handshake with an unknown KmID or a wrong Km
    Given the harness Entity A presents to the MAF <variant>
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the SUT refuses the handshake with a fatal alert among <alerts>

    Examples:
      | variant | alerts |
      | an unknown KmID with the Km of authorized entity 1 | unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure |
      | its KmID with a Km with one bit flipped | bad_record_mac, decrypt_error, or over DTLS by discarding the records |

  @TP/SAEF-MAF/MAF/06
  @SAEF-MAF-20 @SAEF-MAF-27
  Scenario Outline: The MAF releases no Kc that has expired or that it never issued
    Given Entity B asks for <key>
    When Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF
    Then the MAF releases no Kc

    Examples:
      | key |
      | a Kc whose lifetime has passed |
      | a RelativeKcID the MAF never issued |
