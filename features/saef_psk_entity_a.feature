@framework:saef-psk @role:entity_a
Feature: Pre-Provisioned Symmetric Key SAEF, the SUT as Entity A
  TS-0003 8.2.2.1 (seed 001 L154-210): Entity A is commanded to initiate with KpsaId, IdA
  and IdB; it routes the (D)TLS handshake by IdB, presents psk_identity = KpsaId, uses
  psk = Kpsa, verifies Entity B's Finished and attributes the association to IdB.
  The harness plays Entity B.

  Background:
    Given the SUT plays Entity A of the pre-provisioned symmetric key SAEF
    And the harness plays Entity B holding the SUT's KpsaId and Kpsa

  @TP/SAEF-PSK/A/01 @each-declared-suite
  @SAEF-PSK-01 @SAEF-PSK-03 @SAEF-PSK-04 @SAEF-PSK-10 @SAEF-PSK-12 @SAEF-PSK-13 @SAEF-COMMON-06 @SAEF-COMMON-08 @PARAM-CCF-01
  Scenario: Entity A completes the association with each declared cipher suite
    Given the harness accepts only the suite under test
    When Entity A and Entity B run the association security handshake
    Then the handshake completes with the suite under test
    And the negotiated protocol version is (D)TLS 1.2
    And the SUT reports the association as established
    And the keying material the SUT exports equals the harness's

  @TP/SAEF-PSK/A/02
  @SAEF-PSK-11 @SAEF-PSK-02 @SAEF-PSK-03 @PARAM-CCF-02
  Scenario: Entity A presents its KpsaId as psk_identity
    When Entity A and Entity B run the association security handshake
    Then the psk_identity in the ClientKeyExchange equals the configured KpsaId
    And the handshake completes

  @TP/SAEF-PSK/A/03
  @SAEF-PSK-14 @SAEF-PSK-10
  Scenario: Entity A completes the association with the transport's mandatory cipher suite
    Given the harness accepts only the mandatory suite
    When Entity A and Entity B run the association security handshake
    Then the ClientHello offers the mandatory suite
    And the handshake completes with the mandatory suite

  @TP/SAEF-PSK/A/04
  @SAEF-PSK-14 @SAEF-PSK-10
  Scenario: Entity A offers only cipher suites of the profile
    When Entity A and Entity B run the association security handshake
    Then the ClientHello offers only suites of the profile

  @TP/SAEF-PSK/A/05
  @SAEF-PSK-04
  Scenario: Entity A names Entity B in the server_name extension
    When Entity A and Entity B run the association security handshake
    Then the ClientHello carries server_name with Entity B's host name

  @TP/SAEF-PSK/A/06
  @SAEF-PSK-06 @SAEF-PSK-03 @PARAM-ACF-01 @PARAM-ACF-04
  Scenario: Entity A binds the association to the configured IdB
    When Entity A and Entity B run the association security handshake
    Then the handshake completes
    And the SUT binds the association to the configured IdB

  @TP/SAEF-PSK/A/07
  @SAEF-PSK-12 @SAEF-PSK-13 @PARAM-CCF-01
  Scenario: Entity A refuses Entity B holding a wrong Kpsa
    Given the harness uses a Kpsa with one bit flipped
    And the harness answers even a Finished it cannot verify
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, decrypt_error, or over DTLS by discarding the records
    And the SUT establishes no association

  @TP/SAEF-PSK/A/08
  @SAEF-PSK-13
  Scenario: Entity A refuses a Finished whose verify_data is wrong
    Given the harness corrupts the verify_data of its Finished
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among decrypt_error
    And the SUT establishes no association

  @TP/SAEF-PSK/A/09
  @SAEF-PSK-13
  Scenario: Entity A refuses a Finished record whose MAC or tag is wrong
    Given the harness corrupts the MAC of the record carrying its Finished
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, or over DTLS by discarding the records
    And the SUT establishes no association

  @TP/SAEF-PSK/A/10 @transport:tls
  @SAEF-PSK-10 @SAEF-COMMON-08
  Scenario Outline: Entity A refuses handshake messages out of order
    Over DTLS, message_seq restores the order and a repeated message is a retransmission
    (RFC 6347 4.2.2, 4.2.4), so these misbehaviours are TLS-only.

    Given the harness <misbehaviour>
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among unexpected_message
    And the SUT establishes no association

    Examples:
      | misbehaviour                                   |
      | sends its ServerHello twice                    |
      | sends its Finished without ChangeCipherSpec    |
      | sends its ServerHelloDone before its ServerHello |
      | sends application data before its Finished     |

  @TP/SAEF-PSK/A/11
  @SAEF-PSK-14 @SAEF-PSK-10
  Scenario: Entity A refuses a cipher suite it did not offer
    Given the harness selects a suite outside the profile regardless of the offer
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among illegal_parameter, handshake_failure
    And the SUT establishes no association

  @TP/SAEF-PSK/A/12
  @SAEF-PSK-11 @SAEF-PSK-10
  Scenario: Entity A presents its KpsaId whatever psk_identity_hint Entity B sends
    Given the harness sends the psk_identity_hint "hint@other-issuer.example.net"
    When Entity A and Entity B run the association security handshake
    Then the psk_identity in the ClientKeyExchange equals the configured KpsaId
    And the handshake completes

  @TP/SAEF-PSK/A/13
  @SAEF-PSK-10
  Scenario: Entity A refuses a ServerHello that selects an older protocol version
    Given the harness answers with the previous protocol version, TLS 1.1 or DTLS 1.0
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among protocol_version, handshake_failure, illegal_parameter
    And the SUT establishes no association

  @TP/SAEF-PSK/A/14 @transport:dtls
  @SAEF-PSK-10
  Scenario: Entity A repeats its ClientHello with the cookie of a HelloVerifyRequest
    When Entity A and Entity B run the association security handshake
    Then the SUT repeated its ClientHello with the harness's cookie
    And the handshake completes

  @TP/SAEF-PSK/A/15 @transport:dtls
  @SAEF-PSK-10 @SAEF-COMMON-08
  Scenario Outline: Entity A completes the handshake over a lossy, disordered network
    Given the network <disruption>
    When Entity A and Entity B run the association security handshake
    Then the handshake completes

    Examples:
      | disruption                                          |
      | loses the SUT's first ClientHello                   |
      | loses the harness's first ServerHello flight        |
      | delivers the harness's datagrams in reverse order   |
      | delivers every harness datagram twice               |
      | carries the harness's handshake in 64-byte fragments |
