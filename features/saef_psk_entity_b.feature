@framework:saef-psk @role:entity_b
Feature: Pre-Provisioned Symmetric Key SAEF, the SUT as Entity B
  TS-0003 8.2.2.1 (seed 001 L154-210): Entity B, the (D)TLS server, is configured for each
  authorized Entity A with KpsaId and IdA, and authenticates A by a (D)TLS-PSK handshake
  (RFC 4279) with psk_identity = KpsaId and psk = Kpsa. The harness plays Entity A.

  Background:
    Given the SUT plays Entity B of the pre-provisioned symmetric key SAEF
    And the harness plays Entity A with the KpsaId and Kpsa of authorized entity 1

  @TP/SAEF-PSK/B/01 @each-declared-suite
  @SAEF-PSK-01 @SAEF-PSK-05 @SAEF-PSK-10 @SAEF-PSK-12 @SAEF-PSK-13 @SAEF-COMMON-06 @SAEF-COMMON-08 @PARAM-CCI-01 @PARAM-CCI-02
  Scenario: Entity B completes the association with each declared cipher suite
    Given the harness offers only the suite under test
    When Entity A and Entity B run the association security handshake
    Then the handshake completes with the suite under test
    And the negotiated protocol version is (D)TLS 1.2
    And the SUT reports the association as established
    And the keying material the SUT exports equals the harness's

  @TP/SAEF-PSK/B/02
  @SAEF-PSK-14 @SAEF-PSK-10
  Scenario: Entity B completes the association with the transport's mandatory cipher suite
    Given the harness offers only the mandatory suite
    When Entity A and Entity B run the association security handshake
    Then the handshake completes with the mandatory suite

  @TP/SAEF-PSK/B/03
  @SAEF-PSK-14 @SAEF-PSK-10
  Scenario: Entity B refuses a ClientHello that offers only suites outside the profile
    Given the harness offers only suites outside the profile
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among handshake_failure, insufficient_security
    And the SUT establishes no association

  @TP/SAEF-PSK/B/04
  @SAEF-PSK-14
  Scenario: Entity B selects a profile suite when suites outside the profile are offered first
    Given the harness offers suites outside the profile ahead of the declared suites
    When Entity A and Entity B run the association security handshake
    Then the handshake completes with a suite of the profile

  @TP/SAEF-PSK/B/05
  @SAEF-PSK-05 @PARAM-CCI-02 @SAEF-COMMON-07
  Scenario: Entity B refuses an unknown KpsaId even with a valid key
    RFC 4279 section 2: B may refuse the identity by name, or hide that it is unknown and
    go on as if the key were wrong; over DTLS it then cannot read the harness's Finished
    and discards it in silence (RFC 6347 4.1.2.7), which S-08 accepts by default.

    Given the harness presents an unknown well-formed KpsaId with the Kpsa of authorized entity 1
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the psk_identity with a fatal alert among unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure, or over DTLS by discarding the harness's Finished
    And the SUT establishes no association

  @TP/SAEF-PSK/B/06
  @SAEF-PSK-05 @PARAM-CCI-02
  Scenario Outline: Entity B refuses a malformed KpsaId
    Given the harness presents the psk_identity <identity> with the Kpsa of authorized entity 1
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the psk_identity with a fatal alert among unknown_psk_identity, decrypt_error, bad_record_mac, handshake_failure, illegal_parameter, decode_error, or over DTLS by discarding the harness's Finished
    And the SUT establishes no association

    Examples:
      | identity                                    |
      | empty                                       |
      | of authorized entity 1 followed by NUL      |
      | of authorized entity 1 with a suffix        |
      | of authorized entity 1 in upper case        |
      | of invalid UTF-8                            |

  @TP/SAEF-PSK/B/07
  @SAEF-PSK-12 @SAEF-PSK-13 @SAEF-PSK-01 @PARAM-CCI-01
  Scenario: Entity B refuses Entity A holding a wrong Kpsa
    Given the harness uses a Kpsa with one bit flipped
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, decrypt_error, or over DTLS by discarding the records
    And the SUT establishes no association

  @TP/SAEF-PSK/B/08
  @SAEF-PSK-13
  Scenario: Entity B refuses a Finished whose verify_data is wrong
    Given the harness corrupts the verify_data of its Finished
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among decrypt_error
    And the SUT establishes no association

  @TP/SAEF-PSK/B/09
  @SAEF-PSK-13
  Scenario: Entity B refuses a Finished record whose MAC or tag is wrong
    Given the harness corrupts the MAC of the record carrying its Finished
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among bad_record_mac, or over DTLS by discarding the records
    And the SUT establishes no association

  @TP/SAEF-PSK/B/10 @transport:tls
  @SAEF-PSK-10 @SAEF-COMMON-08
  Scenario Outline: Entity B refuses handshake messages out of order
    Over DTLS, message_seq restores the order and a repeated message is a retransmission
    (RFC 6347 4.2.2, 4.2.4), so these misbehaviours are TLS-only.

    Given the harness <misbehaviour>
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among unexpected_message
    And the SUT establishes no association

    Examples:
      | misbehaviour                                      |
      | sends its Finished without ChangeCipherSpec       |
      | sends its ClientKeyExchange twice                 |
      | sends its Finished before its ClientKeyExchange   |
      | sends application data before its Finished        |

  @TP/SAEF-PSK/B/11
  @SAEF-PSK-07 @SAEF-PSK-05 @PARAM-ACI-02
  Scenario: Entity B binds the association to the IdA configured for the KpsaId used
    Given the harness plays Entity A with the KpsaId and Kpsa of authorized entity 2
    When Entity A and Entity B run the association security handshake
    Then the handshake completes
    And the SUT binds the association to the IdA of authorized entity 2

  @TP/SAEF-PSK/B/12
  @SAEF-PSK-10 @SAEF-PSK-12
  Scenario: Entity B refuses a ClientHello that offers only an older protocol version
    Given the harness offers only the previous protocol version, TLS 1.1 or DTLS 1.0
    When Entity A and Entity B run the association security handshake
    Then the SUT refuses the handshake with a fatal alert among protocol_version, handshake_failure
    And the SUT establishes no association

  @TP/SAEF-PSK/B/13 @transport:dtls
  @SAEF-PSK-10
  Scenario: Entity B answers a ClientHello without a cookie with a HelloVerifyRequest
    When Entity A and Entity B run the association security handshake
    Then the SUT answered the first ClientHello with a HelloVerifyRequest
    And the handshake completes

  @TP/SAEF-PSK/B/14 @transport:dtls
  @SAEF-PSK-10 @SAEF-COMMON-08
  Scenario Outline: Entity B completes the handshake over a lossy, disordered network
    Given the network <disruption>
    When Entity A and Entity B run the association security handshake
    Then the handshake completes

    Examples:
      | disruption                                          |
      | loses the SUT's first ServerHello flight            |
      | loses the harness's first ClientKeyExchange flight  |
      | delivers the harness's datagrams in reverse order   |
      | delivers every harness datagram twice               |
      | carries the harness's handshake in 64-byte fragments |

  @TP/SAEF-PSK/B/15 @transport:dtls
  @SAEF-PSK-10
  Scenario Outline: Entity B discards a bad record and keeps the association
    Given the harness, once established, sends <bad record>
    When Entity A and Entity B run the association security handshake
    Then the handshake completes
    And the SUT keeps the association: no alert, and it still answers application data

    Examples:
      | bad record                                   |
      | a replay of its application data record      |
      | an application data record with a wrong tag  |
